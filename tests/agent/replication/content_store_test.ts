import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { ContentStore } from "../../../agent/replication/content_store.ts";
import {
  encodeTree,
  type FileEntry,
  hashBytes,
  type Tree,
} from "../../../agent/replication/tree.ts";
import {
  dirEntry,
  fileEntry,
  generation,
  MTIME,
  putFile,
  randomBytes,
  text,
  withStore,
} from "./_content_fixtures.ts";

/** index.html, img/a.png, latest -> img/a.png */
async function sampleTree(store: ContentStore, page = "<h1>hi</h1>"): Promise<Tree> {
  const index = await putFile(store, "index.html", text(page));
  const png = await putFile(store, "a.png", text("PNG"), 0o600, MTIME - 5000);
  const img = await dirEntry(store, "img", { entries: [png] }, 0o750);
  return { entries: [index, img, { name: "latest", type: "symlink", target: "img/a.png" }] };
}

Deno.test("stage() and publish() serve a generation through `current`", async () => {
  await withStore(async (store) => {
    const g = await generation(store, 1, await sampleTree(store));
    await store.stage(g);
    await store.publish(1);
    const cur = store.publishedPath();
    assertEquals(await Deno.readLink(cur), "gens/1");
    assertEquals(await Deno.readTextFile(`${cur}/index.html`), "<h1>hi</h1>");
    assertEquals(await Deno.readTextFile(`${cur}/latest`), "PNG");
    assertEquals(await Deno.readLink(`${cur}/latest`), "img/a.png");
    const png = await Deno.stat(`${cur}/img/a.png`);
    assertEquals([png.mode! & 0o7777, png.mtime!.getTime()], [0o600, MTIME - 5000]);
    assertEquals((await Deno.stat(`${cur}/img`)).mode! & 0o7777, 0o750);
    assertEquals(store.current(), 1);
    assertEquals(store.generations().map((x) => x.gen), [1]);
    assertEquals(await store.verify(1, { rehash: true }), []);
  });
});

Deno.test("stage() hardlinks files to their inode and links subdirectories into trees/", async () => {
  await withStore(async (store) => {
    const tree = await sampleTree(store);
    await store.stage(await generation(store, 1, tree));
    const base = store.generationPath(1);
    const index = tree.entries[0];
    assert(index.type === "file");
    const [a, b] = [
      await Deno.lstat(`${base}/index.html`),
      await Deno.lstat(store.filePath(index)),
    ];
    assertEquals(a.ino, b.ino);
    assert(/^\.\.\/[0-9a-f]{64}\.750$/.test(await Deno.readLink(`${base}/img`)));
  });
});

Deno.test("subdirectory entries are hard links of one symlink per directory, swept by gc", async () => {
  await withStore(async (store) => {
    const tree = await sampleTree(store);
    await store.stage(await generation(store, 1, tree));
    const page = await putFile(store, "index.html", text("<h1>v2</h1>"));
    await store.stage(await generation(store, 2, { entries: [page, ...tree.entries.slice(1)] }));
    const key = (await Deno.readLink(`${store.generationPath(1)}/img`)).slice(3);
    const [one, two, pooled] = await Promise.all([
      Deno.lstat(`${store.generationPath(1)}/img`),
      Deno.lstat(`${store.generationPath(2)}/img`),
      Deno.lstat(`${store.root}/dirlinks/${key}`),
    ]);
    assert(one.isSymlink && one.ino === two.ino && one.ino === pooled.ino, "one inode");
    assertEquals(pooled.nlink, 3);
    assertEquals(await Deno.readTextFile(`${store.generationPath(2)}/img/a.png`), "PNG");
    const other = await dirEntry(store, "css", { entries: [page] });
    await store.stage(await generation(store, 3, { entries: [other] }));
    await store.publish(3);
    await store.gc(0, []);
    assertEquals(
      (await Array.fromAsync(Deno.readDir(`${store.root}/dirlinks`))).map((e) => e.name),
      [(await Deno.readLink(`${store.generationPath(3)}/css`)).slice(3)],
      "only the kept generation's subdirectory is left",
    );
  });
});

Deno.test("stage() refuses a generation with missing objects and says how many", async () => {
  await withStore(async (store) => {
    const absent = fileEntry("gone.txt", text("not installed"));
    const sub = {
      name: "sub",
      type: "dir" as const,
      mode: 0o755,
      tree: "ab".repeat(32),
      files: 1,
      bytes: 1,
    };
    const g = await generation(store, 1, { entries: [absent, sub] });
    await rejects(store.stage(g), /1 tree object\(s\) and 1 file\(s\) are missing/);
    assertEquals(await store.findMissing(g.root), { trees: ["ab".repeat(32)], files: [absent] });
    assertEquals(store.hasGeneration(1), false);
  });
});

Deno.test("findMissing() is empty once every tree and file is present", async () => {
  await withStore(async (store) => {
    const g = await generation(store, 1, await sampleTree(store));
    assertEquals(await store.findMissing(g.root), { trees: [], files: [] });
  });
});

Deno.test("publish() refuses a generation that is not staged", async () => {
  await withStore(async (store) => {
    await rejects(store.publish(4), /cannot publish generation 4: it is not staged here/);
    assertEquals(store.current(), undefined);
  });
});

Deno.test("stage() never changes a staged generation: same root is a no-op, another throws", async () => {
  await withStore(async (store) => {
    const g = await generation(store, 1, await sampleTree(store));
    await store.stage(g);
    await store.stage(g);
    const other = await generation(store, 1, await sampleTree(store, "other"));
    await rejects(store.stage(other), /generation 1 is already staged/);
  });
});

Deno.test("a symlink climbing out of its directory resolves through gens/N", async () => {
  await withStore(async (store) => {
    const x = await putFile(store, "x.txt", text("target"));
    const b = await dirEntry(store, "b", { entries: [x] });
    const a = await dirEntry(store, "a", {
      entries: [{ name: "up", type: "symlink", target: "../b/x.txt" }],
    });
    const root = { entries: [a, b] };
    await store.stage(await generation(store, 1, root));
    await store.stage(await generation(store, 2, root));
    await store.publish(2);
    const cur = store.publishedPath();
    assertEquals(await Deno.readTextFile(`${cur}/a/up`), "target");
    assertEquals(await Deno.readLink(`${cur}/a/up`), `${store.root}/gens/2/b/x.txt`);
    assertEquals(await Deno.readTextFile(`${store.generationPath(1)}/a/up`), "target");
    // The climbing directory is per generation; the other one is shared.
    assert(await Deno.readLink(`${store.generationPath(1)}/a`) !== await Deno.readLink(`${cur}/a`));
    assertEquals(
      await Deno.readLink(`${store.generationPath(1)}/b`),
      await Deno.readLink(`${cur}/b`),
    );
    assertEquals(await store.verify(2, { rehash: false }), []);
  });
});

Deno.test("two directories with one tree but different modes are materialized apart", async () => {
  await withStore(async (store) => {
    const f = await putFile(store, "f", text("same"));
    const open = await dirEntry(store, "open", { entries: [f] }, 0o755);
    const closed = await dirEntry(store, "closed", { entries: [f] }, 0o700);
    await store.stage(await generation(store, 1, { entries: [open, closed] }));
    const base = store.generationPath(1);
    assertEquals((await Deno.stat(`${base}/open`)).mode! & 0o777, 0o755);
    assertEquals((await Deno.stat(`${base}/closed`)).mode! & 0o777, 0o700);
  });
});

Deno.test("putTreeBytes() refuses bytes that do not match the hash, and unsafe names", async () => {
  await withStore(async (store) => {
    const good = encodeTree({ entries: [fileEntry("a", text("a"))] });
    await rejects(store.putTreeBytes("00".repeat(32), good), /do not match the hash/);
    const evil = new TextEncoder().encode(
      JSON.stringify({ entries: [{ ...fileEntry("a", text("a")), name: "../../etc/passwd" }] }),
    );
    await rejects(store.putTreeBytes(hashBytes(evil), evil), /contains "\/"/);
    await store.putTreeBytes(hashBytes(good), good);
    assert(store.hasTree(hashBytes(good)));
    assertEquals(store.treeBytes(hashBytes(good)), good);
  });
});

Deno.test("readTree() treats a tree object torn by a crash as missing", async () => {
  await withStore(async (store) => {
    const h = await store.writeTree({ entries: [fileEntry("a", text("a"))] });
    await Deno.writeTextFile(store.treeObjectPath(h), '{"entr');
    assertEquals(store.readTree(h), undefined);
    assertEquals(store.hasTree(h), false);
  });
});

Deno.test("readChunk() finds chunks of installed files and whole small files", async () => {
  await withStore(async (store) => {
    const big = await putFile(store, "big", randomBytes(600_000));
    const small = await putFile(store, "small", text("tiny"));
    assert(big.chunks && big.chunks.length > 2);
    const c = big.chunks[1];
    const bytes = await store.readChunk(c.hash);
    assertEquals(bytes && hashBytes(bytes), c.hash);
    assertEquals(await store.readChunk(small.hash), text("tiny"));
    assertEquals(await store.readChunk("cd".repeat(32)), undefined);
  });
});

Deno.test("readChunk() re-hashes an inode written to since install, refusing and reporting it", async () => {
  await withStore(async (store) => {
    const big = await putFile(store, "big", randomBytes(600_000, 5));
    const small = await putFile(store, "small", text("a small file"));
    const corrupt: string[] = [];
    store.onCorrupt = (what) => corrupt.push(what);
    const c = big.chunks![0];
    assertEquals(hashBytes((await store.readChunk(c.hash))!), c.hash); // read once: trusted
    for (const e of [big, small]) {
      const f = await Deno.open(store.filePath(e), { write: true });
      await f.write(new Uint8Array(8).fill(0x55));
      f.close();
    }
    assertEquals(await store.readChunk(c.hash), undefined);
    assertEquals(await store.readChunk(small.hash), undefined);
    assertEquals(corrupt.length, 2);
    assert(corrupt[0].includes(store.fileKey(big)) && corrupt[1].includes(store.fileKey(small)));
  });
});

Deno.test("readChunk() indexes the files of staged generations after a reopen", async () => {
  await withStore(async (store, dir) => {
    const big = await putFile(store, "big", randomBytes(600_000, 7));
    await store.stage(await generation(store, 1, { entries: [big] }));
    const again = await ContentStore.open(`${dir}/content`);
    const c = big.chunks![2];
    const bytes = await again.readChunk(c.hash);
    assertEquals(bytes && hashBytes(bytes), c.hash);
  });
});

Deno.test("readChunk() serves a whole small file without building the chunk index", async () => {
  await withStore(async (store, dir) => {
    const big = await putFile(store, "big", randomBytes(600_000, 9));
    const small = await putFile(store, "small", text("a small file"));
    await store.stage(await generation(store, 1, { entries: [big, small] }));
    const again = await ContentStore.open(`${dir}/content`);
    const load = again.loadTree.bind(again);
    let treesRead = 0;
    again.loadTree = (h) => (treesRead++, load(h));
    assertEquals(await again.readChunk(small.hash), text("a small file"));
    assertEquals(treesRead, 0, "a whole file is found in the file index");
    const c = big.chunks![1];
    assertEquals(hashBytes((await again.readChunk(c.hash))!), c.hash);
    assert(treesRead > 0, "a chunk inside a file needs the index, built from the trees");
  });
});

Deno.test("readChunk() serves a chunk from any inode of its content, also after gc", async () => {
  await withStore(async (store) => {
    const bytes = randomBytes(600_000, 13);
    const a = await putFile(store, "a.bin", bytes, 0o644);
    await store.stage(await generation(store, 1, { entries: [a] }));
    const b = await putFile(store, "a.bin", bytes, 0o600);
    await store.stage(await generation(store, 2, { entries: [b] }));
    await store.gc(1, []);
    assertEquals([store.hasFile(a), store.hasFile(b)], [false, true]);
    const c = a.chunks![1];
    const got = await store.readChunk(c.hash);
    assertEquals(got && hashBytes(got), c.hash);
  });
});

Deno.test("gc() keeps the newest, the current and pinned generations and what they use", async () => {
  await withStore(async (store) => {
    const files: FileEntry[] = [];
    for (let n = 1; n <= 4; n++) {
      const f = await putFile(store, "page.html", text(`version ${n}`));
      files.push(f);
      const sub = await dirEntry(store, "sub", { entries: [f] });
      await store.stage(await generation(store, n, { entries: [sub] }));
    }
    await store.publish(1);
    const unstaged = await putFile(store, "next.html", text("being fetched"));
    const r = await store.gc(1, [2]);
    assertEquals(r.generations, [3]);
    assertEquals(store.generations().map((g) => g.gen), [1, 2, 4]);
    assertEquals([1, 2, 3, 4].map((n) => store.hasFile(files[n - 1])), [true, true, false, true]);
    assert(store.hasFile(unstaged), "written since the last stage: kept");
    assertEquals(r.files, 1);
    for (const n of [1, 2, 4]) {
      assertEquals(
        await Deno.readTextFile(`${store.generationPath(n)}/sub/page.html`),
        `version ${n}`,
      );
    }
    const again = await store.gc(0, []);
    assertEquals(again.generations, [2, 4]);
    assertEquals(await Deno.readTextFile(`${store.publishedPath()}/sub/page.html`), "version 1");
    assertEquals(await store.verify(1, { rehash: true }), []);
  });
});

Deno.test("verify() reports content, mode and extra entries changed on disk", async () => {
  await withStore(async (store) => {
    await store.stage(await generation(store, 1, await sampleTree(store)));
    const base = store.generationPath(1);
    await Deno.writeTextFile(`${base}/index.html`, "<h1>HI</h1>");
    await Deno.chmod(`${base}/img/a.png`, 0o666);
    await Deno.writeTextFile(`${base}/img/stray.txt`, "x");
    const problems = await store.verify(1, { rehash: true });
    assert(problems.some((p) => p.startsWith("index.html: content hash")), problems.join("\n"));
    assert(problems.some((p) => p.startsWith("img/a.png: mode 0666, expected 0600")));
    assert(problems.includes("img/stray.txt: not in the tree"));
  });
});

Deno.test("open() cleans up after an interrupted run and stage() still succeeds", async () => {
  await withStore(async (store, dir) => {
    const tree = await sampleTree(store);
    await store.stage(await generation(store, 1, tree));
    await store.publish(1);
    const root = store.root;
    // What a kill -9 can leave behind:
    await Deno.writeTextFile(`${root}/tmp/ingest.1234`, "half a file");
    await Deno.mkdir(`${root}/trees/${"ef".repeat(32)}.755.tmp-0badf00d`);
    await Deno.writeTextFile(`${root}/trees/${"ef".repeat(32)}.755.tmp-0badf00d/x`, "x");
    await Deno.symlink(
      `../${"ef".repeat(32)}`,
      `${root}/trees/${"ef".repeat(32)}.755.tmp-0badf00d/sub`,
    );
    await Deno.writeTextFile(`${root}/gens/2.json`, '{"gen": 2, "ro');
    await Deno.symlink("../trees/nowhere", `${root}/gens/3`);
    await Deno.writeFile(`${root}/staging/${"12".repeat(32)}.part`, new Uint8Array(10));

    const again = await ContentStore.open(`${dir}/content`);
    assertEquals([...Deno.readDirSync(`${root}/tmp`)], []);
    assertEquals(
      [...Deno.readDirSync(`${root}/trees`)].some((e) => e.name.includes(".tmp-")),
      false,
    );
    assertEquals([...Deno.readDirSync(`${root}/gens`)].map((e) => e.name).sort(), ["1", "1.json"]);
    assert(Deno.statSync(`${root}/staging/${"12".repeat(32)}.part`).isFile, "kept for resume");
    assertEquals(again.current(), 1);
    assertEquals(again.generations().map((g) => g.gen), [1]);

    const f = await putFile(again, "new.html", text("new"));
    await again.stage(await generation(again, 2, { entries: [...tree.entries, f] }));
    await again.publish(2);
    assertEquals(await Deno.readTextFile(`${again.publishedPath()}/new.html`), "new");
    assertEquals(await again.verify(2, { rehash: true }), []);
  });
});

Deno.test("open() after a power cut drops objects that no stage made durable", async () => {
  await withStore(async (store, dir) => {
    const kept = await putFile(store, "kept.html", text("staged"));
    await store.stage(await generation(store, 1, { entries: [kept] }));
    assert(!existsSync(`${store.root}/unsynced`), "the stage's barrier clears the marker");
    const torn = await putFile(store, "torn.html", text("written, never staged"));
    assert(existsSync(`${store.root}/unsynced`));
    await Deno.writeFile(store.filePath(torn), new Uint8Array(0)); // what a power cut can leave

    const again = await ContentStore.open(`${dir}/content`);
    assertEquals([again.hasFile(kept), again.hasFile(torn)], [true, false]);
    assert(!existsSync(`${store.root}/unsynced`));
    assertEquals(await again.verify(1, { rehash: true }), []);
  });
});

function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
