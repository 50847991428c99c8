import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ContentStore } from "../../../agent/replication/content_store.ts";
import { type ScanResult, SourceIndex } from "../../../agent/replication/ingest.ts";
import type { FileEntry, Generation } from "../../../agent/replication/tree.ts";
import { ingestFile } from "../../../agent/replication/_ingest_file.ts";
import { randomBytes, withStore } from "./_content_fixtures.ts";

const STABLE = { stableBeforeMs: Date.now() + 3600_000 };

/** Writes `files` (path → content) under `dir`, creating directories. */
async function writeTree(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const abs = `${dir}/${path}`;
    await Deno.mkdir(abs.slice(0, abs.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(abs, content);
    else await Deno.writeFile(abs, content);
  }
}

/** Every file under `dir` as path → content, following symlinks. */
async function readAll(dir: string, rel = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    const st = await Deno.stat(`${dir}/${path}`);
    if (st.isDirectory) Object.assign(out, await readAll(dir, path));
    else out[path] = await Deno.readTextFile(`${dir}/${path}`);
  }
  return out;
}

let gen = 0;
async function publish(store: ContentStore, r: ScanResult): Promise<Generation> {
  const g = {
    gen: ++gen,
    root: r.root,
    parent: 0,
    createdMs: 0,
    exporter: 1,
    files: r.files,
    bytes: r.bytes,
  };
  await store.stage(g);
  await store.publish(g.gen);
  return g;
}

/** The entry at `path` in the store's tree of `root`. */
function entryAt(store: ContentStore, root: string, path: string): FileEntry {
  let tree = store.readTree(root)!;
  const parts = path.split("/");
  for (const p of parts.slice(0, -1)) {
    const d = tree.entries.find((e) => e.name === p);
    assert(d?.type === "dir");
    tree = store.readTree(d.tree)!;
  }
  const f = tree.entries.find((e) => e.name === parts.at(-1));
  assert(f?.type === "file", `${path} is not a file in the tree`);
  return f;
}

const FILES = {
  "index.html": "<h1>home</h1>",
  ".hidden": "dotfile",
  "css/site.css": "body{}",
  "img/logo.svg": "<svg/>",
  "img/icons/a.svg": "<svg a/>",
};

Deno.test("scan() of a new source stores every file, hidden ones too", async () => {
  await withStore(async (store, dir) => {
    await writeTree(`${dir}/src`, FILES);
    const idx = new SourceIndex(`${dir}/src`, store);
    const r = await idx.scan("all", STABLE);
    assertEquals([r.files, r.bytes, r.climbs, r.rejected, r.settling], [5, 40, false, [], []]);
    assertEquals(r.readBytes, 40);
    await publish(store, r);
    assertEquals(await readAll(store.publishedPath()), await readAll(`${dir}/src`));
  });
});

Deno.test("a rescan with nothing changed reads 0 bytes and gives the same root", async () => {
  await withStore(async (store, dir) => {
    await writeTree(`${dir}/src`, FILES);
    const idx = new SourceIndex(`${dir}/src`, store);
    const first = await idx.scan("all", STABLE);
    const again = await idx.scan("all", STABLE);
    const listed = await idx.scan(["img", "css"], STABLE);
    assertEquals([again.root, again.readBytes], [first.root, 0]);
    assertEquals([listed.root, listed.readBytes], [first.root, 0]);
  });
});

Deno.test("scan() of listed directories picks up modified, added and deleted files", async () => {
  await withStore(async (store, dir) => {
    const src = `${dir}/src`;
    await writeTree(src, FILES);
    const idx = new SourceIndex(src, store);
    await idx.scan("all", STABLE);
    await Deno.writeTextFile(`${src}/img/logo.svg`, "<svg new/>");
    await Deno.writeTextFile(`${src}/img/icons/b.svg`, "<svg b/>");
    await Deno.remove(`${src}/css/site.css`);
    const r = await idx.scan(["img", "img/icons", "css"], STABLE);
    assertEquals(r.readBytes, "<svg new/>".length + "<svg b/>".length);
    assertEquals(r.files, 5);
    await publish(store, r);
    assertEquals(await readAll(store.publishedPath()), await readAll(src));
  });
});

Deno.test("a renamed file and a renamed directory are not read again", async () => {
  await withStore(async (store, dir) => {
    const src = `${dir}/src`;
    await writeTree(src, FILES);
    const idx = new SourceIndex(src, store);
    await idx.scan("all", STABLE);
    await Deno.rename(`${src}/index.html`, `${src}/css/home.html`);
    await Deno.rename(`${src}/img`, `${src}/images`);
    const r = await idx.scan(["", "css"], STABLE);
    assertEquals([r.readBytes, r.files], [0, 5]);
    await publish(store, r);
    assertEquals(await readAll(store.publishedPath()), await readAll(src));
  });
});

Deno.test("a listed directory that vanished is removed from its parent", async () => {
  await withStore(async (store, dir) => {
    const src = `${dir}/src`;
    await writeTree(src, FILES);
    const idx = new SourceIndex(src, store);
    await idx.scan("all", STABLE);
    await Deno.remove(`${src}/img`, { recursive: true });
    const r = await idx.scan(["img/icons", "img"], STABLE);
    assertEquals(r.files, 3);
    await publish(store, r);
    assertEquals(await readAll(store.publishedPath()), await readAll(src));
  });
});

Deno.test("a new directory listed alone is scanned and added to its parent", async () => {
  await withStore(async (store, dir) => {
    const src = `${dir}/src`;
    await writeTree(src, FILES);
    const idx = new SourceIndex(src, store);
    await idx.scan("all", STABLE);
    await writeTree(src, { "img/new/deep/x.txt": "x", "img/new/y.txt": "y" });
    const r = await idx.scan(["img/new/deep"], STABLE);
    assertEquals([r.files, r.readBytes], [7, 2]);
  });
});

Deno.test("a mode change gives a new entry without reading the file", async () => {
  await withStore(async (store, dir) => {
    const src = `${dir}/src`;
    await writeTree(src, FILES);
    const idx = new SourceIndex(src, store);
    await idx.scan("all", STABLE);
    await Deno.chmod(`${src}/index.html`, 0o600);
    const r = await idx.scan([""], STABLE);
    assertEquals(r.readBytes, 0);
    assertEquals(entryAt(store, r.root, "index.html").mode, 0o600);
    await publish(store, r);
    assertEquals(await store.verify(gen, { rehash: true }), []);
  });
});

Deno.test("a 1-byte insertion into a 4 MB file changes at most 3 chunk hashes", async () => {
  await withStore(async (store, dir) => {
    const src = `${dir}/src`;
    const big = randomBytes(4 << 20, 42);
    await writeTree(src, { "big.bin": big });
    const idx = new SourceIndex(src, store);
    const before = entryAt(store, (await idx.scan("all", STABLE)).root, "big.bin");
    const edited = new Uint8Array(big.length + 1);
    edited.set(big.subarray(0, 2_000_000));
    edited[2_000_000] = 7;
    edited.set(big.subarray(2_000_000), 2_000_001);
    await Deno.writeFile(`${src}/big.bin`, edited);
    const r = await idx.scan([""], STABLE);
    const after = entryAt(store, r.root, "big.bin");
    assertEquals(r.readBytes, edited.length);
    const old = new Set(before.chunks!.map((c) => c.hash));
    const changed = after.chunks!.filter((c) => !old.has(c.hash));
    assert(changed.length >= 1 && changed.length <= 3, `${changed.length} chunks changed`);
    assert(after.chunks!.length > 30);
  });
});

Deno.test("symlinks leaving the source, fifos and bad names are rejected", async () => {
  await withStore(async (store, dir) => {
    const src = `${dir}/src`;
    await writeTree(src, { "a/ok.txt": "ok" });
    await Deno.symlink("../../etc/passwd", `${src}/a/escape`);
    await Deno.symlink("/etc/passwd", `${src}/absolute`);
    await new Deno.Command("mkfifo", { args: [`${src}/a/pipe`] }).output();
    const r = await new SourceIndex(src, store).scan("all", STABLE);
    assertEquals(r.rejected.map((x) => x.path).sort(), ["a/escape", "a/pipe", "absolute"]);
    assert(r.rejected.find((x) => x.path === "a/pipe")!.reason.includes("fifo"));
    assertEquals(r.files, 1);
  });
});

Deno.test("a symlink climbing inside the tree is kept and marks the tree climbs", async () => {
  await withStore(async (store, dir) => {
    const src = `${dir}/src`;
    await writeTree(src, { "a/b/page.html": "page", "shared/logo.svg": "<svg/>" });
    await Deno.symlink("../../shared/logo.svg", `${src}/a/b/logo.svg`);
    await Deno.symlink("a/b/page.html", `${src}/home.html`);
    const r = await new SourceIndex(src, store).scan("all", STABLE);
    assertEquals([r.climbs, r.rejected], [true, []]);
    await publish(store, r);
    assertEquals(await Deno.readTextFile(`${store.publishedPath()}/a/b/logo.svg`), "<svg/>");
    assertEquals(await Deno.readTextFile(`${store.publishedPath()}/home.html`), "page");
  });
});

Deno.test("a file still being written settles: kept out (or old), then included", async () => {
  await withStore(async (store, dir) => {
    const src = `${dir}/src`;
    await writeTree(src, { "old.txt": "v1" });
    const past = new Date(Date.now() - 600_000);
    await Deno.utime(`${src}/old.txt`, past, past);
    const idx = new SourceIndex(src, store);
    const recent = { stableBeforeMs: Date.now() - 60_000 };
    const first = await idx.scan("all", recent);
    await writeTree(src, { "new.txt": "fresh", "old.txt": "v2" });
    const r = await idx.scan([""], recent);
    assertEquals(r.settling.sort(), ["new.txt", "old.txt"]);
    assertEquals([r.root, r.files, r.readBytes], [first.root, 1, 0]);
    const later = new Date(past.getTime() + 1000);
    for (const f of ["new.txt", "old.txt"]) await Deno.utime(`${src}/${f}`, later, later);
    const done = await idx.scan([""], recent);
    assertEquals([done.settling, done.files], [[], 2]);
    await publish(store, done);
    assertEquals(await readAll(store.publishedPath()), { "new.txt": "fresh", "old.txt": "v2" });
  });
});

Deno.test("ingestFile() installs nothing for a file that changed since its stat", async () => {
  await withStore(async (store, dir) => {
    for (const size of [11, 3 << 20]) {
      await Deno.writeFile(`${dir}/f`, randomBytes(size));
      const st = await Deno.stat(`${dir}/f`);
      const stale = { size: size - 5, mtimeMs: st.mtime!.getTime(), ino: st.ino! };
      const r = await ingestFile(store, `${dir}/f`, "f", 0o644, stale);
      assertEquals(r.entry, undefined);
      assertEquals([...Deno.readDirSync(`${store.root}/tmp`)], []);
    }
  });
});
