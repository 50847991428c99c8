import assert from "node:assert/strict";
import { fetchGeneration, INSTALL_SLICE } from "../../../agent/replication/fetch_generation.ts";
import { TREES_PER_FETCH } from "../../../agent/replication/content_source.ts";
import { ContentStore } from "../../../agent/replication/content_store.ts";
import { SourceIndex } from "../../../agent/replication/ingest.ts";
import type { ContentSource } from "../../../agent/replication/content_source.ts";
import type { Generation } from "../../../agent/replication/tree.ts";
import { withTempDir } from "./_content_fixtures.ts";
import { randomBytes } from "../../_fakes/random_bytes.ts";

/** An exporter: a source dir scanned into its own store, one generation per call. */
async function exporter(dir: string) {
  const src = `${dir}/src`;
  await Deno.mkdir(`${src}/img`, { recursive: true });
  const store = await ContentStore.open(`${dir}/exporter`);
  const index = new SourceIndex(src, store);
  let gen = 0;
  return {
    src,
    store,
    async make(): Promise<Generation> {
      const r = await index.scan("all", { stableBeforeMs: Date.now() + 60_000 });
      const g: Generation = {
        gen: ++gen,
        root: r.root,
        parent: gen - 1,
        createdMs: Date.now(),
        exporter: 1,
        files: r.files,
        bytes: r.bytes,
      };
      await store.stage(g);
      return g;
    },
  };
}

/** A ContentSource serving `store`; `corrupt` flips a byte of every chunk or tree it sends. */
function source(
  name: string,
  store: ContentStore,
  corrupt: "none" | "chunks" | "trees" = "none",
): ContentSource & { chunkBytes: number } {
  const s = {
    id: name.length,
    name,
    chunkBytes: 0,
    generation: (n: number) => {
      const g = store.generation(n);
      return g ? Promise.resolve(g) : Promise.reject(new Error(`no generation ${n}`));
    },
    trees: (hashes: string[]) => {
      const out: Record<string, string> = {};
      for (const h of hashes) {
        const b = store.treeBytes(h);
        if (b) out[h] = new TextDecoder().decode(b) + (corrupt === "trees" ? " " : "");
      }
      return Promise.resolve(out);
    },
    async *chunks(hashes: string[]) {
      for (const h of hashes) {
        const b = await store.readChunk(h);
        if (!b) continue;
        const bytes = b.slice();
        if (corrupt === "chunks") bytes[0] ^= 0xff;
        s.chunkBytes += bytes.length;
        yield { hash: h, bytes };
      }
    },
  };
  return s;
}

const opts = () => ({ signal: new AbortController().signal });

async function served(store: ContentStore, gen: number, path: string): Promise<Uint8Array> {
  await store.publish(gen);
  return await Deno.readFile(`${store.publishedPath()}/${path}`);
}

Deno.test("fetchGeneration() fetches and stages a generation into an empty store", async () => {
  await withTempDir(async (dir) => {
    const exp = await exporter(dir);
    const big = randomBytes(600_000, 1);
    await Deno.writeFile(`${exp.src}/img/big.bin`, big);
    await Deno.writeTextFile(`${exp.src}/index.html`, "<h1>hi</h1>");
    const g = await exp.make();
    const mine = await ContentStore.open(`${dir}/importer`);
    const r = await fetchGeneration(1, [source("h1", exp.store)], mine, opts());
    assert.equal(r.generation.root, g.root);
    assert.equal(r.fetchedBytes, big.length + 11);
    assert.ok(mine.hasGeneration(1));
    assert.deepEqual(await served(mine, 1, "img/big.bin"), big);
  });
});

Deno.test("fetchGeneration() fetches only the chunks around a 1-byte insertion", async () => {
  await withTempDir(async (dir) => {
    const exp = await exporter(dir);
    const big = randomBytes(2_000_000, 2);
    await Deno.writeFile(`${exp.src}/big.bin`, big);
    await exp.make();
    const mine = await ContentStore.open(`${dir}/importer`);
    await fetchGeneration(1, [source("h1", exp.store)], mine, opts());
    const edited = new Uint8Array(big.length + 1);
    edited.set(big.subarray(0, 1_000_000));
    edited[1_000_000] = 42;
    edited.set(big.subarray(1_000_000), 1_000_001);
    await Deno.writeFile(`${exp.src}/big.bin`, edited);
    await exp.make();
    const r = await fetchGeneration(2, [source("h1", exp.store)], mine, opts());
    assert.ok(r.fetchedBytes <= 3 * 256 * 1024, `fetched ${r.fetchedBytes} bytes`);
    assert.ok(r.localBytes >= edited.length - r.fetchedBytes);
    assert.deepEqual(await served(mine, 2, "big.bin"), edited);
  });
});

Deno.test("fetchGeneration() drops a source that sends a corrupt chunk and uses the next", async () => {
  await withTempDir(async (dir) => {
    const exp = await exporter(dir);
    const data = randomBytes(300_000, 3);
    await Deno.writeFile(`${exp.src}/a.bin`, data);
    await exp.make();
    const mine = await ContentStore.open(`${dir}/importer`);
    const bad = source("bad", exp.store, "chunks"), good = source("good", exp.store);
    const reported: string[] = [];
    await fetchGeneration(1, [bad, good], mine, {
      ...opts(),
      onBadObject: (s, what) => reported.push(`${s.name}: ${what}`),
    });
    assert.equal(reported.length, 1);
    assert.match(reported[0], /^bad: chunk [0-9a-f]{12}$/);
    assert.deepEqual(await served(mine, 1, "a.bin"), data);
  });
});

Deno.test("fetchGeneration() refuses a corrupt tree and takes it from another source", async () => {
  await withTempDir(async (dir) => {
    const exp = await exporter(dir);
    await Deno.writeTextFile(`${exp.src}/img/x.txt`, "x");
    await exp.make();
    const mine = await ContentStore.open(`${dir}/importer`);
    const reported: string[] = [];
    await fetchGeneration(1, [source("bad", exp.store, "trees"), source("good", exp.store)], mine, {
      ...opts(),
      onBadObject: (s, what) => reported.push(`${s.name}: ${what}`),
    });
    assert.equal(reported.length, 1);
    assert.match(reported[0], /^bad: tree /);
    assert.equal(new TextDecoder().decode(await served(mine, 1, "img/x.txt")), "x");
  });
});

Deno.test("fetchGeneration() fails naming what no source has, and stages nothing", async () => {
  await withTempDir(async (dir) => {
    const exp = await exporter(dir);
    await Deno.writeTextFile(`${exp.src}/x.txt`, "x");
    await exp.make();
    const mine = await ContentStore.open(`${dir}/importer`);
    await assert.rejects(
      fetchGeneration(1, [source("bad", exp.store, "chunks")], mine, opts()),
      /missing|chunk/,
    );
    assert.equal(mine.hasGeneration(1), false);
    await assert.rejects(
      fetchGeneration(9, [source("h1", exp.store)], mine, opts()),
      /cannot fetch generation 9: h1: no generation 9/,
    );
  });
});

Deno.test("fetchGeneration() installs a big tree in slices and fetches each content once", async () => {
  await withTempDir(async (dir) => {
    const exp = await exporter(dir);
    // More files than one slice; every content twice, once in each slice.
    const n = INSTALL_SLICE + 8, contents = n / 2;
    const body = (i: number) => `content ${i % contents} `.repeat(3);
    await Deno.mkdir(`${exp.src}/many`);
    for (let i = 0; i < n; i++) Deno.writeTextFileSync(`${exp.src}/many/f${i}.txt`, body(i));
    await exp.make();
    const mine = await ContentStore.open(`${dir}/importer`);
    const src = source("h1", exp.store);
    const progress: number[] = [];
    const r = await fetchGeneration(1, [src], mine, {
      ...opts(),
      onProgress: (p) => progress.push(p.bytesToGo),
    });
    let unique = 0;
    for (let i = 0; i < contents; i++) unique += new TextEncoder().encode(body(i)).length;
    assert.equal(r.fetchedChunks, contents, "each content fetched once");
    assert.equal(r.fetchedBytes, unique);
    assert.equal(src.chunkBytes, unique);
    assert.equal(progress.at(-1), 0);
    await mine.publish(1);
    for (const i of [0, contents - 1, contents, n - 1]) {
      assert.equal(await Deno.readTextFile(`${mine.publishedPath()}/many/f${i}.txt`), body(i));
    }
  });
});

Deno.test("fetchGeneration() asks for at most TREES_PER_FETCH trees at once", async () => {
  await withTempDir(async (dir) => {
    const exp = await exporter(dir);
    const dirs = TREES_PER_FETCH + 20;
    for (let i = 0; i < dirs; i++) {
      await Deno.mkdir(`${exp.src}/d${i}`);
      await Deno.writeTextFile(`${exp.src}/d${i}/index.html`, `page ${i}`);
    }
    await exp.make();
    const mine = await ContentStore.open(`${dir}/importer`);
    const src = source("h1", exp.store);
    const asked: number[] = [];
    const trees = src.trees;
    src.trees = (hashes: string[]) => (asked.push(hashes.length), trees(hashes));
    const r = await fetchGeneration(1, [src], mine, opts());
    assert.ok(r.trees > TREES_PER_FETCH, `${r.trees} trees`);
    assert.ok(asked.length >= 2 && asked.every((n) => n <= TREES_PER_FETCH), `${asked}`);
    await mine.publish(1);
    assert.equal(await Deno.readTextFile(`${mine.publishedPath()}/d7/index.html`), "page 7");
  });
});
