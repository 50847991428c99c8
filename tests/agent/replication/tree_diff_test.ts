import assert from "node:assert/strict";
import { diffTrees } from "../../../agent/replication/tree_diff.ts";
import {
  type DirEntry,
  type FileEntry,
  type Hash,
  hashBytes,
  hashTree,
  type LinkEntry,
  type Tree,
  type TreeEntry,
  treeTotals,
} from "../../../agent/replication/tree.ts";

/** An in-memory tree store that records which trees were loaded. */
class Store {
  trees = new Map<Hash, Tree>();
  loaded: Hash[] = [];
  put(entries: TreeEntry[]): Hash {
    const t = { entries }, h = hashTree(t);
    this.trees.set(h, t);
    return h;
  }
  load = (h: Hash): Tree => {
    this.loaded.push(h);
    const t = this.trees.get(h);
    if (!t) throw new Error(`no tree ${h}`);
    return t;
  };
  dir(name: string, entries: TreeEntry[], mode = 0o755): DirEntry {
    const { files, bytes } = treeTotals({ entries });
    return { name, type: "dir", mode, tree: this.put(entries), files, bytes };
  }
}

function file(name: string, content: string, mode = 0o644, mtimeMs = 1000): FileEntry {
  const bytes = new TextEncoder().encode(content);
  return { name, type: "file", mode, size: bytes.length, mtimeMs, hash: hashBytes(bytes) };
}
const link = (name: string, target: string): LinkEntry => ({ name, type: "symlink", target });

function site(s: Store, extra: TreeEntry[] = []): TreeEntry[] {
  return [
    file("index.html", "<h1>hi</h1>"),
    s.dir("img", [file("a.png", "A"), file("b.png", "B")]),
    s.dir("css", [file("site.css", "body{}")]),
    ...extra,
  ];
}

const empty = { added: [], removed: [], modified: [], renamed: [] };

Deno.test("diffTrees() from no old root lists every top-level entry as added", () => {
  const s = new Store();
  const root = s.put(site(s));
  assert.deepEqual(diffTrees(null, root, s.load), {
    ...empty,
    added: ["css/", "img/", "index.html"],
    filesBefore: 0,
    filesAfter: 4,
    removedFiles: 0,
  });
  assert.deepEqual(s.loaded, [root]);
});

Deno.test("diffTrees() of a root with itself is empty", () => {
  const s = new Store();
  const root = s.put(site(s));
  assert.deepEqual(diffTrees(root, root, s.load), {
    ...empty,
    filesBefore: 4,
    filesAfter: 4,
    removedFiles: 0,
  });
});

Deno.test("diffTrees() reports a created file in a subdirectory", () => {
  const s = new Store();
  const a = s.put(site(s));
  const b = s.put([
    file("index.html", "<h1>hi</h1>"),
    s.dir("img", [file("a.png", "A"), file("b.png", "B"), file("c.png", "C")]),
    s.dir("css", [file("site.css", "body{}")]),
  ]);
  const d = diffTrees(a, b, s.load);
  assert.deepEqual(d, {
    ...empty,
    added: ["img/c.png"],
    filesBefore: 4,
    filesAfter: 5,
    removedFiles: 0,
  });
});

Deno.test("diffTrees() reports content, mode, mtime and type changes as modified", () => {
  const s = new Store();
  const a = s.put([file("a", "1"), file("b", "2"), file("c", "3"), file("d", "4"), link("e", "a")]);
  const b = s.put([
    file("a", "changed"),
    file("b", "2", 0o600),
    file("c", "3", 0o644, 2000),
    link("d", "a"),
    link("e", "b"),
  ]);
  const d = diffTrees(a, b, s.load);
  assert.deepEqual(d.modified, ["a", "b", "c", "d", "e"]);
  assert.deepEqual([d.added, d.removed, d.renamed], [[], [], []]);
});

Deno.test("diffTrees() reports a directory whose own mode changed", () => {
  const s = new Store();
  const a = s.put([s.dir("img", [file("a.png", "A")])]);
  const b = s.put([s.dir("img", [file("a.png", "A")], 0o700)]);
  s.loaded = [];
  assert.deepEqual(diffTrees(a, b, s.load).modified, ["img/"]);
  assert.deepEqual(s.loaded, [b, a]);
});

Deno.test("diffTrees() reports a deleted file and counts it", () => {
  const s = new Store();
  const a = s.put(site(s));
  const b = s.put(site(s).filter((e) => e.name !== "index.html"));
  const d = diffTrees(a, b, s.load);
  assert.deepEqual(d, {
    ...empty,
    removed: ["index.html"],
    filesBefore: 4,
    filesAfter: 3,
    removedFiles: 1,
  });
});

Deno.test("diffTrees() reports a renamed file as one rename", () => {
  const s = new Store();
  const a = s.put(site(s));
  const b = s.put([
    file("home.html", "<h1>hi</h1>"),
    s.dir("img", [file("a.png", "A"), file("b.png", "B")]),
    s.dir("css", [file("site.css", "body{}")]),
  ]);
  const d = diffTrees(a, b, s.load);
  assert.deepEqual(d, {
    ...empty,
    renamed: [{ from: "index.html", to: "home.html" }],
    filesBefore: 4,
    filesAfter: 4,
    removedFiles: 0,
  });
});

Deno.test("diffTrees() reports a moved directory as one rename without loading it", () => {
  const s = new Store();
  const img = s.dir("img", [file("a.png", "A"), file("b.png", "B")]);
  const a = s.put([file("index.html", "x"), img, s.dir("static", [file("s", "S")])]);
  const b = s.put([
    file("index.html", "x"),
    { ...img, name: "images" },
    s.dir("static", [file("s", "S")]),
  ]);
  const c = s.put([file("index.html", "x"), s.dir("static", [file("s", "S"), img])]);
  s.loaded = [];
  assert.deepEqual(diffTrees(a, b, s.load), {
    ...empty,
    renamed: [{ from: "img/", to: "images/" }],
    filesBefore: 4,
    filesAfter: 4,
    removedFiles: 0,
  });
  assert.deepEqual(diffTrees(a, c, s.load).renamed, [{ from: "img/", to: "static/img/" }]);
  assert.equal(diffTrees(a, c, s.load).removedFiles, 0);
  assert.ok(!s.loaded.includes(img.tree));
});

Deno.test("diffTrees() matches each removed entry to at most one rename target", () => {
  const s = new Store();
  const a = s.put([file("x", "same"), file("y", "same")]);
  const b = s.put([file("p", "same"), file("q", "same"), file("r", "same")]);
  const d = diffTrees(a, b, s.load);
  assert.deepEqual(d.renamed, [{ from: "x", to: "p" }, { from: "y", to: "q" }]);
  assert.deepEqual(d.added, ["r"]);
  assert.equal(d.removedFiles, 0);
});

Deno.test("diffTrees() counts a mass deletion by whole-directory totals", () => {
  const s = new Store();
  const many = Array.from({ length: 500 }, (_, i) => file(`p${i}.jpg`, `photo ${i}`));
  const a = s.put([
    s.dir("photos", [...many, s.dir("2024", [file("x", "x"), file("y", "y")])]),
    s.dir("docs", [file("readme", "r")]),
    link("latest", "photos/p1.jpg"),
  ]);
  const b = s.put([s.dir("docs", [file("readme", "r")])]);
  s.loaded = [];
  const d = diffTrees(a, b, s.load);
  assert.deepEqual(d, {
    ...empty,
    removed: ["latest", "photos/"],
    filesBefore: 503,
    filesAfter: 1,
    removedFiles: 502,
  });
  assert.deepEqual(s.loaded, [b, a]);
});

Deno.test("diffTrees() treats a directory replaced by a file as a removal and an addition", () => {
  const s = new Store();
  const a = s.put([s.dir("x", [file("a", "A"), file("b", "B")])]);
  const b = s.put([file("x", "now a file")]);
  const d = diffTrees(a, b, s.load);
  assert.deepEqual([d.added, d.removed, d.removedFiles], [["x"], ["x/"], 2]);
});

Deno.test("diffTrees() never loads an identical subtree", () => {
  const s = new Store();
  const deep = s.dir("deep", [s.dir("deeper", [file("z", "Z")])]);
  const a = s.put([s.dir("site", [deep, file("v", "1")])]);
  const b = s.put([s.dir("site", [deep, file("v", "2")])]);
  s.loaded = [];
  const d = diffTrees(a, b, s.load);
  assert.deepEqual(d.modified, ["site/v"]);
  assert.ok(!s.loaded.includes(deep.tree), "the unchanged subtree was loaded");
  assert.equal(s.loaded.length, 4);
});
