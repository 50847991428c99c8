import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import type { ContentStore } from "../../../agent/replication/content_store.ts";
import { type ChunkFetcher, installFiles } from "../../../agent/replication/file_assembler.ts";
import { CHUNK_MAX } from "../../../agent/replication/chunker.ts";
import { type FileEntry, type Hash, hashBytes } from "../../../agent/replication/tree.ts";
import { fileEntry, putFile, randomBytes, text, withStore } from "./_content_fixtures.ts";

/** An exporter in memory: serves the chunks of `files`, records every request. */
function fakeSource(files: Uint8Array[], opts: { drop?: Set<Hash> } = {}) {
  const chunks = new Map<Hash, Uint8Array>();
  for (const bytes of files) {
    const e = fileEntry("x", bytes);
    let off = 0;
    for (const c of e.chunks ?? [{ hash: e.hash, size: e.size }]) {
      chunks.set(c.hash, bytes.subarray(off, off + c.size));
      off += c.size;
    }
  }
  const requests: Hash[][] = [];
  const fetch: ChunkFetcher = async function* (hashes) {
    requests.push(hashes);
    for (const h of hashes) {
      const bytes = chunks.get(h);
      if (bytes && !opts.drop?.has(h)) yield { hash: h, bytes: bytes.slice() };
      await Promise.resolve();
    }
  };
  const asked = () => requests.flat();
  return { fetch, requests, asked };
}

async function content(store: ContentStore, e: FileEntry): Promise<Uint8Array> {
  assert(store.hasFile(e), `${e.name} is not installed`);
  const bytes = await Deno.readFile(store.filePath(e));
  const st = await Deno.stat(store.filePath(e));
  assertEquals([st.mode! & 0o7777, st.mtime!.getTime()], [e.mode, e.mtimeMs]);
  return bytes;
}

Deno.test("installFiles() fetches each chunk once, shared by files and modes", async () => {
  await withStore(async (store) => {
    const big = randomBytes(900_000, 3), small = text("small file");
    const doubled = new Uint8Array(big.length * 2);
    doubled.set(big), doubled.set(big, big.length);
    const src = fakeSource([big, small, doubled]);
    const entries = [
      fileEntry("big", big),
      fileEntry("big-exec", big, 0o755),
      fileEntry("small", small),
      fileEntry("doubled", doubled),
      fileEntry("empty", new Uint8Array(0)),
    ];
    const r = await installFiles(store, entries, src.fetch);
    const asked = src.asked();
    assertEquals(new Set(asked).size, asked.length, "no chunk asked twice");
    assertEquals(r.fetchedChunks, asked.length);
    assert(r.fetchedBytes < doubled.length, `${r.fetchedBytes} bytes fetched`);
    for (const [e, bytes] of [[0, big], [1, big], [2, small], [3, doubled]] as const) {
      assertEquals(await content(store, entries[e]), bytes);
    }
    assertEquals((await content(store, entries[4])).length, 0);
    assertEquals([...Deno.readDirSync(`${store.root}/staging`)], []);
  });
});

Deno.test("a 1-byte insertion into a large file fetches at most 3 chunks", async () => {
  await withStore(async (store) => {
    const old = randomBytes(4 << 20, 9);
    await putFile(store, "site.bin", old);
    const edited = new Uint8Array(old.length + 1);
    edited.set(old.subarray(0, 1_500_000)), edited.set(old.subarray(1_500_000), 1_500_001);
    const src = fakeSource([edited]);
    const e = fileEntry("site.bin", edited, 0o644, Date.now());
    const r = await installFiles(store, [e], src.fetch);
    assert(r.fetchedChunks <= 3, `${r.fetchedChunks} chunks fetched`);
    assert(r.fetchedBytes <= 3 * CHUNK_MAX);
    assertEquals(r.fetchedBytes + r.localBytes, edited.length);
    assertEquals(await content(store, e), edited);
  });
});

Deno.test("content installed under another mode or mtime is copied, not fetched", async () => {
  await withStore(async (store) => {
    const bytes = randomBytes(100_000, 5);
    await putFile(store, "a", bytes, 0o644);
    const src = fakeSource([bytes]);
    const e = fileEntry("b", bytes, 0o600, 1_600_000_000_000);
    const r = await installFiles(store, [e], src.fetch);
    assertEquals([r.fetchedBytes, r.localBytes, src.requests.length], [0, bytes.length, 0]);
    assertEquals(await content(store, e), bytes);
  });
});

Deno.test("files of one chunk are fetched without asking the chunk index", async () => {
  await withStore(async (store) => {
    await putFile(store, "big", randomBytes(600_000, 8));
    const read = store.readChunk.bind(store);
    const asked: Hash[] = [];
    store.readChunk = (h) => (asked.push(h), read(h));
    const small = randomBytes(20_000, 9), big = randomBytes(600_000, 10);
    const src = fakeSource([small, big]);
    const es = [fileEntry("small", small), fileEntry("big2", big)];
    const r = await installFiles(store, es, src.fetch);
    assertEquals(r.fetchedBytes, small.length + big.length);
    assertEquals(asked, es[1].chunks!.map((c) => c.hash), "only the big file's chunks");
    assertEquals(await content(store, es[0]), small);
  });
});

Deno.test("a leftover .part is re-verified and only its missing or bad chunks are fetched", async () => {
  await withStore(async (store) => {
    const bytes = randomBytes(2 << 20, 11);
    const e = fileEntry("resume.bin", bytes);
    const chunks = e.chunks!;
    // A crash left the first half written; then one chunk of it got damaged.
    const part = new Uint8Array(bytes.length);
    const half = chunks.slice(0, Math.floor(chunks.length / 2)).reduce((n, c) => n + c.size, 0);
    part.set(bytes.subarray(0, half));
    part[chunks[0].size + 10] ^= 0xff;
    await Deno.writeFile(store.stagingPath(e.hash), part);
    const src = fakeSource([bytes]);
    const r = await installFiles(store, [e], src.fetch);
    const kept = Math.floor(chunks.length / 2) - 1;
    assertEquals(r.fetchedChunks, chunks.length - kept);
    assert(!src.asked().includes(chunks[0].hash), "an intact chunk of the .part is not fetched");
    assert(src.asked().includes(chunks[1].hash), "the damaged chunk is fetched again");
    assertEquals(await content(store, e), bytes);
  });
});

Deno.test("requests stay within batchBytes", async () => {
  await withStore(async (store) => {
    const files = Array.from({ length: 6 }, (_, i) => randomBytes(300_000, 100 + i));
    const src = fakeSource(files);
    const entries = files.map((b, i) => fileEntry(`f${i}`, b));
    let progress = { bytesDone: 0, chunksDone: 0, filesDone: 0 };
    await installFiles(store, entries, src.fetch, {
      batchBytes: 256 * 1024,
      parallel: 2,
      onProgress: (p) => progress = p,
    });
    assert(src.requests.length > 6);
    const sizes = new Map(entries.flatMap((e) => e.chunks!.map((c) => [c.hash, c.size] as const)));
    for (const req of src.requests) {
      const bytes = req.reduce((n, h) => n + sizes.get(h)!, 0);
      assert(req.length === 1 || bytes <= 256 * 1024, `a request of ${bytes} bytes`);
    }
    assertEquals(progress.bytesDone, 6 * 300_000);
    assertEquals(progress.filesDone, 6);
  });
});

Deno.test("chunks never delivered make installFiles() throw, keeping what is complete", async () => {
  await withStore(async (store) => {
    const whole = randomBytes(200_000, 21), broken = randomBytes(700_000, 22);
    const eBroken = fileEntry("broken", broken);
    const drop = new Set([eBroken.chunks![1].hash, eBroken.chunks![3].hash]);
    const src = fakeSource([whole, broken], { drop });
    const eWhole = fileEntry("whole", whole);
    await rejects(
      installFiles(store, [eWhole, eBroken], src.fetch),
      /2 chunk\(s\) of 1 file\(s\) were not delivered/,
    );
    assert(store.hasFile(eWhole));
    assert(!store.hasFile(eBroken));
    assertEquals((await Deno.stat(store.stagingPath(eBroken.hash))).size, broken.length);
  });
});

Deno.test("a small file assembled in memory is kept in a .part when the run fails, then resumed", async () => {
  await withStore(async (store) => {
    const bytes = randomBytes(400_000, 23);
    const e = fileEntry("small", bytes);
    assert(e.chunks!.length > 2);
    const lost = e.chunks![1].hash;
    await rejects(
      installFiles(store, [e], fakeSource([bytes], { drop: new Set([lost]) }).fetch),
      /1 chunk\(s\) of 1 file\(s\) were not delivered/,
    );
    assertEquals((await Deno.stat(store.stagingPath(e.hash))).size, bytes.length);
    const src = fakeSource([bytes]);
    const r = await installFiles(store, [e], src.fetch);
    assertEquals(src.asked(), [lost]);
    assertEquals(r.fetchedChunks, 1);
    assertEquals(await content(store, e), bytes);
    assertEquals([...Deno.readDirSync(`${store.root}/staging`)], []);
  });
});

Deno.test("a file whose chunks do not make its hash is refused and its .part deleted", async () => {
  await withStore(async (store) => {
    const bytes = randomBytes(500_000, 31);
    const lying = { ...fileEntry("lie", bytes), hash: hashBytes(text("something else")) };
    const src = fakeSource([bytes]);
    await rejects(installFiles(store, [lying], src.fetch), /tree's chunk list is wrong/);
    assert(!store.hasFile(lying));
    assertEquals([...Deno.readDirSync(`${store.root}/staging`)], []);
  });
});
