/**
 * The object half of the content store (content_store.ts has the layout and the
 * generations): tree objects under objects/trees/, file inodes under files/, and the
 * chunk index over them. Everything is written to tmp/ and renamed into place.
 *
 * Durability is batched: objects are not fsync'd one by one (on ext4 each fsync is a
 * journal commit, ~50 s for 100k small files); stage() runs one durability barrier
 * (syncfs) before its generation becomes visible. A process killed meanwhile loses
 * nothing (the page cache survives it); for a power cut, the `unsynced` marker is written
 * durably before the first unsynced rename, and open() finding it drops every object no
 * staged generation uses, since any of those may be torn. Tree objects are also checked
 * against their hash whenever read.
 */
import { ChunkIndex } from "./_chunk_index.ts";
import { FreshObjects } from "./_fresh_objects.ts";
import { FileIndex, fileKey, fileSuffix, parseFileKey } from "./_file_index.ts";
import { checkTree } from "./_tree_check.ts";
import { randomHex } from "../security/random_id.ts";
import { CHUNK_MAX } from "./chunker.ts";
import {
  decodeTree,
  encodeTree,
  type FileEntry,
  type Generation,
  type Hash,
  hashBytes,
  isHash,
  type Tree,
} from "./tree.ts";
import {
  cooperate,
  fsyncPath,
  isNotFound,
  mapLimit,
  readSliceSync,
  removeIfPresent,
  syncFilesystem,
} from "./_fs.ts";

/** Up to this many objects and directories, a barrier fsyncs each instead of syncfs. */
export const FSYNC_EACH_MAX = 256;

/**
 * Files up to this size (one chunk at most) are read and written with synchronous calls
 * (see installBytes): 256 KiB from or to the page cache takes ~100 µs.
 */
export const SMALL_FILE_BYTES = CHUNK_MAX;

/** Bytes installed between two early writebacks (see #writeback). */
export const WRITEBACK_BYTES = 64 << 20;

export abstract class ObjectStore {
  /** Absolute, symlinks resolved (climbing user links are written through it). */
  readonly root: string;
  protected files = new FileIndex();
  protected chunks: ChunkIndex;
  /** Written since the last stage: gc keeps them; the next durability barrier syncs them. */
  protected fresh = new FreshObjects();
  /** Directories whose entries changed since the last stage (stage fsyncs them). */
  protected dirtyDirs = new Set<string>();
  /** Trees whose whole subtree (trees and files) is present: findMissing() skips them. */
  protected complete = new Set<Hash>();
  #madeDirs = new Set<string>();
  /** Called when a stored file no longer matches its hash (bit rot, a local edit). */
  onCorrupt?: (what: string) => void;
  #installs = 0;
  /** Bytes installed since the last early writeback started, and whether one runs. */
  #unflushed = 0;
  #flushing = false;
  #marker: Promise<void> | undefined;
  #markerGone: Promise<void> = Promise.resolve();

  protected constructor(root: string) {
    this.root = root;
    this.chunks = new ChunkIndex((add) => this.#eachInstalledFile(add));
  }

  /** The kept generations (their files seed the chunk index). */
  abstract generations(): Generation[];

  // ── trees ────────────────────────────────────────────────────────────────────────

  treeObjectPath(h: Hash): string {
    return `${this.root}/objects/trees/${h.slice(0, 2)}/${h}`;
  }

  hasTree(h: Hash): boolean {
    try {
      return Deno.lstatSync(this.treeObjectPath(h)).isFile;
    } catch {
      return false;
    }
  }

  /** The tree, or undefined if absent (a stored object failing its hash is deleted). */
  readTree(h: Hash): Tree | undefined {
    const bytes = this.treeBytes(h);
    return bytes && decodeTree(bytes);
  }

  /** readTree without blocking the event loop on the read. */
  async loadTree(h: Hash): Promise<Tree | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.treeObjectPath(h));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    if (this.#checkStored(h, bytes)) return decodeTree(bytes);
    await removeIfPresent(this.treeObjectPath(h));
    return undefined;
  }

  /** The canonical bytes of a stored tree (what the peer API sends), or undefined. */
  treeBytes(h: Hash): Uint8Array | undefined {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(this.treeObjectPath(h));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    if (this.#checkStored(h, bytes)) return bytes;
    Deno.removeSync(this.treeObjectPath(h));
    return undefined;
  }

  /** Stores a tree (built here, e.g. by the ingest scan); returns its hash. */
  async writeTree(tree: Tree): Promise<Hash> {
    const why = checkTree(tree);
    if (why) throw new Error(`cannot store a tree: ${why}`);
    const bytes = encodeTree(tree);
    const h = hashBytes(bytes);
    if (!this.hasTree(h)) await this.#putObject(h, bytes);
    return h;
  }

  /** Stores a tree received as bytes; throws if they do not hash to `hash` or are not a sound tree. */
  async putTreeBytes(hash: Hash, bytes: Uint8Array): Promise<void> {
    if (!isHash(hash) || hashBytes(bytes) !== hash) {
      throw new Error(
        `refused tree object ${hash}: its bytes do not match the hash (faulty sender)`,
      );
    }
    let tree: Tree;
    try {
      tree = decodeTree(bytes);
    } catch (e) {
      throw new Error(`refused tree object ${hash}: ${(e as Error).message}`);
    }
    await this.putDecodedTree(hash, bytes, tree);
  }

  /**
   * putTreeBytes for bytes the caller already checked against `hash` and decoded to `tree`
   * (a fetch does, to tell a faulty sender): only the tree's soundness is checked here.
   */
  async putDecodedTree(hash: Hash, bytes: Uint8Array, tree: Tree): Promise<void> {
    const why = checkTree(tree);
    if (why) throw new Error(`refused tree object ${hash}: ${why}`);
    if (!this.hasTree(hash)) await this.#putObject(hash, bytes);
  }

  // ── files ────────────────────────────────────────────────────────────────────────

  /** The inode's name under files/<h[0:2]>/: `<hash>.<mode octal>.<mtimeMs>`. */
  fileKey(e: FileEntry): string {
    return fileKey(e);
  }

  filePath(e: FileEntry): string {
    return this.#inodePath(e.hash, fileSuffix(e));
  }

  /** files/<h[0:2]>/<hash><suffix>: the inode of one (content, mode, mtime). */
  #inodePath(hash: Hash, suffix: string): string {
    return `${this.root}/files/${hash.slice(0, 2)}/${hash}${suffix}`;
  }

  hasFile(e: FileEntry): boolean {
    return this.files.has(e.hash, fileSuffix(e));
  }

  /** Path of some installed inode with this content (any mode and mtime), or undefined. */
  findContent(hash: Hash): string | undefined {
    const suffix = this.files.any(hash);
    return suffix === undefined ? undefined : this.#inodePath(hash, suffix);
  }

  /** A fresh path in tmp/ (same filesystem as files/, so installFile can rename it). */
  tempPath(label: string): string {
    return `${this.root}/tmp/${label}.${randomHex(4)}`;
  }

  /** Where a file being assembled from chunks is kept across restarts. */
  stagingPath(hash: Hash): string {
    return `${this.root}/staging/${hash}.part`;
  }

  /**
   * Makes the complete content at `tmpPath` (in the store: tmp/ or staging/) the inode of
   * `e`: checks its size, sets mode and mtime and renames it into files/. Durable at the
   * next stage() (see the module comment).
   */
  async installFile(e: FileEntry, tmpPath: string): Promise<void> {
    await Deno.chmod(tmpPath, e.mode);
    await Deno.utime(tmpPath, new Date(e.mtimeMs), new Date(e.mtimeMs));
    const size = (await Deno.lstat(tmpPath)).size;
    if (size !== e.size) {
      throw new Error(`cannot install ${e.hash}: ${tmpPath} has ${size} bytes, expected ${e.size}`);
    }
    await this.#renameIn(e, tmpPath);
  }

  /** Installs `e` as a copy of the stored inode `src` (same content, other mode or mtime). */
  async installCopy(e: FileEntry, src: string): Promise<void> {
    const tmp = this.tempPath("copy");
    try {
      await Deno.copyFile(src, tmp);
      await this.installFile(e, tmp);
    } catch (err) {
      await removeIfPresent(tmp);
      throw err;
    }
  }

  /**
   * installFile for content held in memory. Up to SMALL_FILE_BYTES it is written with
   * synchronous calls: ~50 µs a file against ~300 µs for the same four calls as async ops
   * (measured), which is what 100k-file trees are made of. The caller cooperate()s between
   * files, so the event loop is held a few ms at most.
   */
  async installBytes(e: FileEntry, bytes: Uint8Array): Promise<void> {
    if (bytes.length !== e.size) {
      throw new Error(`cannot install ${e.hash}: got ${bytes.length} bytes, expected ${e.size}`);
    }
    const tmp = this.tempPath("file");
    try {
      if (bytes.length > SMALL_FILE_BYTES) {
        await Deno.writeFile(tmp, bytes, { createNew: true, mode: 0o600 });
        return await this.installFile(e, tmp);
      }
      const dir = await this.#subdir("files", e.hash);
      await this.#markUnsynced();
      const path = `${dir}/${fileKey(e)}`, mtime = new Date(e.mtimeMs);
      Deno.writeFileSync(tmp, bytes, { createNew: true, mode: 0o600 });
      Deno.chmodSync(tmp, e.mode);
      Deno.utimeSync(tmp, mtime, mtime);
      this.#installs++;
      Deno.renameSync(tmp, path);
      this.#installed(e, dir);
    } catch (err) {
      await removeIfPresent(tmp);
      throw err;
    }
  }

  // ── chunks ───────────────────────────────────────────────────────────────────────

  /**
   * A chunk's bytes from any installed file holding it, or undefined. What is served is
   * checked against `hash`, except where the store already knows it: a whole file (its
   * name is its hash, checked before it was installed) or an indexed chunk read intact
   * once, while the inode's mtime is still the one in its name. An inode written to
   * since (a local edit) has another mtime and is hashed again; bit rot that keeps the
   * mtime is left to the periodic verification (verify with rehash) and to importers,
   * which check every chunk. A mismatch calls onCorrupt and is not served.
   */
  async readChunk(hash: Hash): Promise<Uint8Array | undefined> {
    const whole = this.#readWhole(hash);
    if (whole) return whole;
    const loc = await this.chunks.lookup(hash);
    const path = loc && this.findContent(loc.content);
    if (loc) {
      const got = path && readSliceSync(path, loc.offset, loc.size, CHUNK_MAX);
      if (got && loc.checked && got.mtimeMs === mtimeInName(path)) return got.bytes;
      if (got && hashBytes(got.bytes) === hash) {
        if (got.mtimeMs === mtimeInName(path)) loc.checked = true;
        return got.bytes;
      }
      if (got && path) this.onCorrupt?.(`${path} (chunk at offset ${loc.offset})`);
      this.chunks.forget(hash);
    }
    return undefined;
  }

  /**
   * The bytes of an installed file whose content is the chunk (a file of one chunk), or
   * undefined. Asked first: the file index answers from memory, while the chunk index is
   * built from every kept tree on its first use.
   */
  #readWhole(hash: Hash): Uint8Array | undefined {
    const whole = this.findContent(hash);
    if (!whole) return undefined;
    const got = readSliceSync(whole, 0, undefined, CHUNK_MAX);
    if (!got) return undefined;
    if (got.mtimeMs === mtimeInName(whole) || hashBytes(got.bytes) === hash) return got.bytes;
    this.onCorrupt?.(whole);
    return undefined;
  }

  // ── for ContentStore ─────────────────────────────────────────────────────────────

  /** Reads the names under files/ into the in-memory index (at open). */
  protected async loadFileIndex(): Promise<void> {
    for await (const p of Deno.readDir(`${this.root}/files`)) {
      if (!p.isDirectory) continue;
      this.#madeDirs.add(`${this.root}/files/${p.name}`);
      for await (const f of Deno.readDir(`${this.root}/files/${p.name}`)) {
        const k = parseFileKey(f.name);
        if (k) this.files.add(k.hash, k.suffix);
      }
      await cooperate();
    }
  }

  #checkStored(h: Hash, bytes: Uint8Array): boolean {
    if (hashBytes(bytes) === h) return true;
    this.complete.clear(); // torn before it was durable: fetch or rebuild it
    return false;
  }

  /**
   * Makes everything written so far durable: an fsync of each object and directory written
   * since the last barrier when they are few (a small change), else one syncfs(2) of the
   * store's filesystem (by `sync -f`), falling back to the fsyncs where that is unavailable.
   * syncfs writes back everything dirty on the filesystem, whoever wrote it: a small change
   * published after a big write elsewhere waited for it (up to 630 ms in bench:replication's
   * 100k-file tree, right after its first sync). Clears the `unsynced` marker unless more
   * was installed meanwhile. Returns the objects it covered, which are no longer `fresh`:
   * stage() gives them back if it fails before its generation is recorded.
   */
  protected async durabilityBarrier(dirs: string[]): Promise<FreshObjects> {
    const epoch = this.#installs, objects = this.fresh;
    this.fresh = new FreshObjects();
    try {
      const others = [...this.dirtyDirs, ...dirs, `${this.root}/trees`];
      if (
        objects.size + others.length <= FSYNC_EACH_MAX || !(await syncFilesystem(this.root))
      ) {
        const all = [
          ...[...objects.trees()].map((h) => this.treeObjectPath(h)),
          ...[...objects.files()].map(([hash, suffix]) => this.#inodePath(hash, suffix)),
          ...others,
        ];
        await mapLimit(all, 64, (p) =>
          fsyncPath(p).catch((e) => {
            if (!isNotFound(e)) throw e;
          }));
      }
    } catch (e) {
      this.fresh.merge(objects);
      throw e;
    }
    this.dirtyDirs.clear();
    if (this.#installs === epoch && this.#marker) {
      this.#marker = undefined;
      this.#markerGone = removeIfPresent(this.markerPath());
      await this.#markerGone;
    }
    return objects;
  }

  /** Exists while installed objects may not be durable (see dropUnsynced in content_store). */
  protected markerPath(): string {
    return `${this.root}/unsynced`;
  }

  /** Creates the marker, durably, before the first unsynced object since the last barrier. */
  #markUnsynced(): Promise<void> {
    if (!this.#marker) {
      this.#marker = (async () => {
        await this.#markerGone; // a barrier's removal must not overtake this creation
        await Deno.writeTextFile(this.markerPath(), "objects written since the last stage\n");
        await fsyncPath(this.markerPath());
        await fsyncPath(this.root);
      })();
      this.#marker.catch(() => this.#marker = undefined);
    }
    return this.#marker;
  }

  async #renameIn(e: FileEntry, tmpPath: string): Promise<void> {
    const dir = await this.#subdir("files", e.hash);
    await this.#markUnsynced();
    this.#installs++;
    const path = `${dir}/${fileKey(e)}`;
    await Deno.rename(tmpPath, path);
    this.#installed(e, dir);
  }

  #installed(e: FileEntry, dir: string): void {
    this.#writeback(e.size);
    this.dirtyDirs.add(dir);
    const suffix = fileSuffix(e);
    this.files.add(e.hash, suffix);
    this.fresh.addFile(e.hash, suffix);
    this.chunks.addFile(e);
  }

  /**
   * Starts writing what was installed to disk, in the background, every WRITEBACK_BYTES.
   * With the kernel's default thresholds (background writeback past 10 % of RAM dirty:
   * 2.4 GB on the bench's VM) all of a bulk sync's writes waited for the stage's barrier,
   * which then wrote them with the CPU idle: ~0.8 s for 500 MB. Durability still comes
   * from the barrier alone; this only leaves it less to do.
   */
  #writeback(bytes: number): void {
    this.#unflushed += bytes;
    if (this.#unflushed < WRITEBACK_BYTES || this.#flushing) return;
    this.#unflushed = 0;
    this.#flushing = true;
    syncFilesystem(this.root).catch(() => false).finally(() => this.#flushing = false);
  }

  async #putObject(h: Hash, bytes: Uint8Array): Promise<void> {
    const tmp = this.tempPath("tree");
    await Deno.writeFile(tmp, bytes);
    const dir = await this.#subdir("objects/trees", h);
    await this.#markUnsynced();
    this.#installs++;
    await Deno.rename(tmp, `${dir}/${h}`);
    this.dirtyDirs.add(dir);
    this.fresh.addTree(h);
  }

  async #subdir(base: string, h: Hash): Promise<string> {
    const dir = `${this.root}/${base}/${h.slice(0, 2)}`;
    if (!this.#madeDirs.has(dir)) {
      await Deno.mkdir(dir, { recursive: true });
      this.#madeDirs.add(dir);
    }
    return dir;
  }

  async #eachInstalledFile(add: (e: FileEntry) => void): Promise<void> {
    const seen = new Set<Hash>();
    const stack = this.generations().map((g) => g.root);
    while (stack.length > 0) {
      const h = stack.pop()!;
      if (seen.has(h)) continue;
      seen.add(h);
      const t = await this.loadTree(h);
      await cooperate();
      for (const e of t?.entries ?? []) {
        if (e.type === "dir") stack.push(e.tree);
        else if (e.type === "file" && e.chunks && this.hasFile(e)) add(e);
      }
    }
  }
}

/** The mtime an inode of files/ was installed with: the last field of its name. */
function mtimeInName(path: string): number {
  return Number(path.slice(path.lastIndexOf(".") + 1));
}
