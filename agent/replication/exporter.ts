/**
 * The exporter's side: turns its source directory into generations.
 *
 *   watch hint ──(stabilization window)──▶ scan hinted dirs ──▶ new root?
 *        ──▶ diff with the newest generation ──▶ mass deletion? ── yes ──▶ held (pending)
 *                                                  │ no
 *                                                  ▼
 *                                    stage generation N locally, offer N
 *
 * Scans run one at a time. A rollback re-offers an old root as a new generation and holds
 * publishing from the source until `replication now`, so the next edit does not undo it.
 */
import type { ContentStore } from "./content_store.ts";
import { SourceIndex } from "./ingest.ts";
import { SourceWatcher } from "./source_watcher.ts";
import { diffTrees, type TreeDiff } from "./tree_diff.ts";
import type { Generation, Hash } from "./tree.ts";
import type { ReplicationSettings } from "../cluster/replication_settings.ts";
import type { GenerationSummary, ReplicationStatus } from "./status.ts";
import type { Level } from "../cluster/effects.ts";
import { SerialQueue } from "./_fs.ts";

export interface ExporterDeps {
  selfId: number;
  store: ContentStore;
  settings(): ReplicationSettings;
  /** The highest generation number any host reports (a new exporter continues from it). */
  highestSeen(): number;
  /** A new generation is staged here and offered to the cluster. */
  offer(g: Generation): void;
  log(level: Level, kind: string, message: string, data?: Record<string, unknown>): void;
  wallNow(): number;
}

type Pending = NonNullable<ReplicationStatus["pending"]> & { root: Hash; diff: TreeDiff };

export class Exporter {
  #d: ExporterDeps;
  #source: string;
  #index: SourceIndex;
  #watcher: SourceWatcher;
  #queue = new SerialQueue();
  #verify?: ReturnType<typeof setInterval>;
  pending: Pending | null = null;
  /** Publishing from the source is paused (after a rollback) until `now`. */
  held: string | null = null;
  scanning = false;
  lastError: string | null = null;

  constructor(d: ExporterDeps, source: string) {
    this.#d = d;
    this.#source = source;
    this.#index = new SourceIndex(source, d.store);
    this.#watcher = new SourceWatcher({
      source,
      stabilizeMs: d.settings().stabilizeMs,
      onChanged: (dirs) => void this.scan(dirs),
      onError: (m) => this.#fail(m),
    });
  }

  get source(): string {
    return this.#source;
  }

  start(): void {
    this.#watcher.start();
    void this.scan("all");
    this.#verify = setInterval(() => void this.scan("all"), this.#d.settings().verifyIntervalMs);
  }

  stop(): void {
    this.#watcher.stop();
    clearInterval(this.#verify);
  }

  /** Rescans (queued behind a running scan); resolves with the generation made, if any. */
  scan(dirs: string[] | "all", confirm = false): Promise<Generation | undefined> {
    return this.#queue.run(() => this.#scan(dirs, confirm));
  }

  async #scan(dirs: string[] | "all", confirm: boolean): Promise<Generation | undefined> {
    if (this.held && !confirm) return undefined;
    this.scanning = true;
    const started = performance.now();
    try {
      const s = this.#d.settings();
      const r = await this.#index.scan(dirs, { stableBeforeMs: this.#d.wallNow() - s.stabilizeMs });
      const scanned = performance.now();
      for (const x of r.rejected) {
        this.#d.log("warn", "content.rejected", `not replicated: ${x.path}: ${x.reason}`, x);
      }
      if (r.settling.length > 0) this.#watcher.retryLater(r.settling, s.stabilizeMs);
      this.lastError = null;
      const latest = this.#latest();
      if (latest && latest.root === r.root) return undefined;
      const diff = diffTrees(latest?.root ?? null, r.root, (h) => this.#tree(h));
      const gen = Math.max(latest?.gen ?? 0, this.#d.highestSeen()) + 1;
      const pct = diff.filesBefore === 0 ? 0 : (100 * diff.removedFiles) / diff.filesBefore;
      if (pct > s.massDeletePercent && !confirm) {
        this.pending = {
          gen,
          root: r.root,
          diff,
          reason: `it deletes ${diff.removedFiles} of ${diff.filesBefore} files ` +
            `(more than ${s.massDeletePercent} %)`,
          removed: diff.removedFiles,
          total: diff.filesBefore,
        };
        this.#d.log(
          "warn",
          "content.held",
          `generation ${gen} held: ${this.pending.reason}; publish it with ` +
            "`appliance replication now --confirm`",
          { gen, removed: diff.removedFiles, total: diff.filesBefore },
        );
        return undefined;
      }
      this.pending = null;
      const made = performance.now();
      const g = await this.#make(gen, r.root, r.files, r.bytes, latest?.gen ?? 0, diff);
      const ms = {
        scan: Math.round(scanned - started),
        stage: Math.round(performance.now() - made),
      };
      this.#d.log(
        "info",
        "content.generation",
        `generation ${gen} made in ${Math.round(performance.now() - started)} ms: ` +
          `${diff.added.length} added, ${diff.modified.length} modified, ` +
          `${diff.removed.length} removed, ${diff.renamed.length} renamed ` +
          `(${r.readBytes} bytes read; scan ${ms.scan} ms, stage ${ms.stage} ms)`,
        { gen, files: r.files, bytes: r.bytes, readBytes: r.readBytes, ms },
      );
      return g;
    } catch (e) {
      this.#fail(`scan of ${this.#source} failed: ${(e as Error).message}`);
      throw e;
    } finally {
      this.scanning = false;
    }
  }

  /** `replication now`: releases a hold, publishes a pending generation if confirmed. */
  async now(confirm: boolean): Promise<{ message: string; gen?: number }> {
    const held = (p: { gen: number; reason: string }) =>
      new Error(`generation ${p.gen} is held: ${p.reason}; add --confirm to publish it`);
    if (this.pending && !confirm) throw held(this.pending);
    this.held = null;
    const g = await this.scan("all", confirm);
    if (!g && this.pending) throw held(this.pending);
    return g
      ? { message: `generation ${g.gen} offered`, gen: g.gen }
      : { message: "the source matches the newest generation: nothing to publish" };
  }

  /** Re-offers kept generation `gen` as a new one and holds publishing from the source. */
  rollback(gen: number): Promise<{ message: string; gen: number }> {
    return this.#queue.run(async () => {
      const old = this.#d.store.generation(gen);
      if (!old) {
        const kept = this.#d.store.generations().map((g) => g.gen).join(", ");
        throw new Error(`generation ${gen} is not kept here (kept: ${kept || "none"})`);
      }
      const latest = this.#latest();
      const next = Math.max(latest?.gen ?? 0, this.#d.highestSeen()) + 1;
      const diff = diffTrees(latest?.root ?? null, old.root, (h) => this.#tree(h));
      await this.#make(next, old.root, old.files, old.bytes, latest?.gen ?? 0, diff, gen);
      this.pending = null;
      this.held = `rolled back to generation ${gen}`;
      this.#d.log(
        "warn",
        "content.rollback",
        `generation ${next} re-publishes generation ${gen}; publishing from ${this.#source} ` +
          "is held until `appliance replication now`",
        { gen: next, rollbackOf: gen },
      );
      return { message: `generation ${next} offered: the content of generation ${gen}`, gen: next };
    });
  }

  history(): GenerationSummary[] {
    return this.#d.store.generations().sort((a, b) => b.gen - a.gen).map((g) => ({
      gen: g.gen,
      createdMs: g.createdMs,
      files: g.files,
      bytes: g.bytes,
      added: g.changes?.added ?? 0,
      modified: g.changes?.modified ?? 0,
      removed: g.changes?.removed ?? 0,
      renamed: g.changes?.renamed ?? 0,
      ...(g.rollbackOf ? { rollbackOf: g.rollbackOf } : {}),
    }));
  }

  async #make(
    gen: number,
    root: Hash,
    files: number,
    bytes: number,
    parent: number,
    diff: TreeDiff,
    rollbackOf?: number,
  ): Promise<Generation> {
    const g: Generation = {
      gen,
      root,
      parent,
      createdMs: this.#d.wallNow(),
      exporter: this.#d.selfId,
      files,
      bytes,
      changes: {
        added: diff.added.length,
        modified: diff.modified.length,
        removed: diff.removed.length,
        renamed: diff.renamed.length,
      },
      ...(rollbackOf ? { rollbackOf } : {}),
    };
    await this.#d.store.stage(g);
    this.#d.offer(g);
    return g;
  }

  #latest(): Generation | undefined {
    const gens = this.#d.store.generations();
    return gens.length ? gens.reduce((a, b) => (b.gen > a.gen ? b : a)) : undefined;
  }

  #tree(h: Hash) {
    const t = this.#d.store.readTree(h);
    if (!t) throw new Error(`tree ${h} is missing from the store`);
    return t;
  }

  #fail(message: string): void {
    this.lastError = message;
    this.#d.log("error", "content.scan_failed", message);
  }
}
