/**
 * A host's replication service: the shell around controller.ts. Every tick it reads the
 * peers' generations from the heartbeats, asks `decide()` what to do, and does it: fetch
 * and stage a generation, flip `current`, commit (on the exporter). It reports this host's
 * generations back into its heartbeats, and answers the peer API (replication_routes.ts).
 *
 *   tick ──▶ decide(peers, store) ──▶ fetch N ──▶ stage N ──▶ report staged
 *                                  ──▶ publish N (rename of `current`) ──▶ gc
 *                                  ──▶ commit N (exporter)
 */
import { type ContentReport, sameReport } from "../cluster/node_state.ts";
import type { HostEntry } from "../cluster/config.ts";
import { DEFAULT_REPLICATION, type ReplicationSettings } from "../cluster/replication_settings.ts";
import type { Level } from "../cluster/effects.ts";
import type { ReplicationCommand, ReplicationPeer } from "../peer/replication_routes.ts";
import {
  type ControllerState,
  decide,
  type PeerContent,
  type ReplicationAction,
} from "./controller.ts";
import { ContentStore } from "./content_store.ts";
import type { ContentSource } from "./content_source.ts";
import { Exporter } from "./exporter.ts";
import { fetchGeneration, type FetchProgress, pruneStaging } from "./fetch_generation.ts";
import type { Generation, Hash } from "./tree.ts";
import type { ReplicationHostStatus, ReplicationState, ReplicationStatus } from "./status.ts";

export interface ReplicationDeps {
  selfId: number;
  selfName: string;
  /** Where the store lives: STATE-DIR/content. */
  root: string;
  config(): { replication?: ReplicationSettings; hosts: HostEntry[] };
  /** Live, admitted peers and the generations their heartbeats carry. */
  peers(): PeerContent[];
  /** The membership view is agreed (see ControllerInput.settled). */
  settled(): boolean;
  /** Puts this host's generations into its heartbeats (and strict mode's verdict). */
  report(r: ContentReport, reason: string): void;
  source(host: HostEntry): ContentSource;
  log(level: Level, kind: string, message: string, data?: Record<string, unknown>): void;
  now(): number;
  wallNow(): number;
  /**
   * Tick period (ms). Default 20. Ticks also run at once on `onChange` (a peer's
   * generations changed), so a stage or commit is acted on without waiting for the period.
   */
  tickMs?: number;
  onChange?(fn: () => void): () => void;
  /** Quiet time after a publish before old generations are collected (default 30 s). */
  gcQuietMs?: number;
}

const GC_QUIET_MS = 30_000;

export class ReplicationService implements ReplicationPeer {
  #d: ReplicationDeps;
  store: ContentStore;
  #ctl: ControllerState;
  #exporter?: Exporter;
  #offered = 0;
  #offeredAt = 0;
  #fetch?: { gen: number; abort: AbortController; progress: FetchProgress };
  #failed?: { gen: number; at: number; error: string };
  #committed = 0;
  #behindSince?: number;
  #last?: ContentReport;
  #timer?: ReturnType<typeof setTimeout>;
  #verify?: ReturnType<typeof setInterval>;
  #gc: Promise<unknown> = Promise.resolve();
  #gcTimer?: ReturnType<typeof setTimeout>;
  #unsubscribe?: () => void;
  #stopped = false;
  /** The generation a publish is under way for (a tick may come before it is done). */
  #publishing?: number;

  private constructor(d: ReplicationDeps, store: ContentStore) {
    this.#d = d;
    this.store = store;
    this.#ctl = { committed: store.current() ?? 0 };
    store.onCorrupt = (what) =>
      d.log("error", "content.corrupt", `local copy ${what} fails its hash: not served to peers`);
  }

  /** Opens the store (cleaning up after a crash); nothing runs until start(). */
  static async open(d: ReplicationDeps): Promise<ReplicationService> {
    const s = new ReplicationService(d, await ContentStore.open(d.root));
    const gens = s.store.generations().map((g) => g.gen);
    s.#offered = gens.length ? Math.max(...gens) : 0;
    s.#offeredAt = d.now();
    return s;
  }

  start(): void {
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#d.tickMs ?? 20);
    this.#unsubscribe = this.#d.onChange?.(() => queueMicrotask(() => this.#tick()));
    this.#verify = setInterval(
      () => void this.#verifyPublished(),
      this.settings().verifyIntervalMs,
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#unsubscribe?.();
    clearInterval(this.#verify);
    this.#exporter?.stop();
    this.#fetch?.abort.abort();
    clearTimeout(this.#gcTimer);
    await this.#gc;
  }

  settings(): ReplicationSettings {
    return this.#d.config().replication ?? DEFAULT_REPLICATION;
  }

  #tick(): void {
    if (this.#stopped) return;
    const s = this.settings();
    this.#roleCheck(s);
    if (s.exporter === 0) return;
    const peers = this.#d.peers();
    const d = decide(this.#ctl, {
      now: this.#d.now(),
      selfId: this.#d.selfId,
      settings: s,
      peers,
      settled: this.#d.settled(),
      staged: this.store.generations().map((g) => g.gen),
      served: this.store.current() ?? 0,
      fetching: this.#fetch?.gen,
      failed: this.#failed,
      offered: s.exporter === this.#d.selfId ? this.#offered : 0,
      offeredAt: this.#offeredAt,
    });
    this.#ctl = d.state;
    this.#committed = d.committed;
    for (const a of d.actions) this.#act(a);
    const served = this.store.current() ?? 0;
    if (served < d.committed) this.#behindSince ??= this.#d.now();
    else this.#behindSince = undefined;
    const r = d.report;
    const l = this.#last;
    if (!l || !sameReport(l, r)) {
      this.#last = r;
      this.#d.report(r, r.stale ? `serves generation ${served}, the cluster ${d.committed}` : "");
    }
  }

  #roleCheck(s: ReplicationSettings): void {
    const mine = s.exporter === this.#d.selfId && s.source !== "";
    if (this.#exporter && (!mine || this.#exporter.source !== s.source)) {
      this.#exporter.stop();
      this.#exporter = undefined;
      this.#d.log("info", "content.exporter", "this host no longer exports content");
    }
    if (mine && !this.#exporter) {
      this.#ctl = { committed: Math.max(this.#ctl.committed, this.store.current() ?? 0) };
      this.#exporter = new Exporter({
        selfId: this.#d.selfId,
        store: this.store,
        settings: () => this.settings(),
        highestSeen: () =>
          Math.max(
            0,
            ...this.#d.peers().flatMap((p) => [p.gens.offered, p.gens.staged, p.gens.served]),
          ),
        offer: (g) => {
          this.#offered = g.gen;
          this.#offeredAt = this.#d.now();
          this.#tick();
        },
        log: this.#d.log,
        wallNow: this.#d.wallNow,
      }, s.source);
      this.#exporter.start();
      this.#d.log("info", "content.exporter", `this host exports ${s.source}`);
    }
  }

  #act(a: ReplicationAction): void {
    switch (a.kind) {
      case "commit":
        this.#d.log(
          "info",
          "content.committed",
          `generation ${a.gen} committed: every host flips to it` +
            (a.waited.length ? ` (hosts ${a.waited.join(", ")} had not staged it in time)` : ""),
          { gen: a.gen, late: a.waited },
        );
        break;
      case "publish":
        void this.#publish(a.gen);
        break;
      case "fetch":
        this.#startFetch(a.gen, a.sources);
        break;
    }
  }

  async #publish(gen: number): Promise<void> {
    const before = this.store.current() ?? 0;
    if (this.#publishing !== undefined && this.#publishing >= gen) return;
    this.#publishing = gen;
    try {
      await this.store.publish(gen);
      this.#d.log("info", "content.published", `serving generation ${gen} (was ${before})`, {
        gen,
        previous: before,
      });
      this.#tick();
      this.#scheduleGc();
    } catch (e) {
      this.#d.log(
        "error",
        "content.publish_failed",
        `cannot flip to generation ${gen}: ${(e as Error).message}`,
      );
    } finally {
      if (this.#publishing === gen) this.#publishing = undefined;
    }
  }

  /**
   * Old generations are collected once publishing has been quiet for GC_QUIET_MS, not after
   * every publish: a collection walks every kept generation (about 1 s at 100k files) and
   * a stage waits for it, which would delay the next small change by that much.
   */
  #scheduleGc(): void {
    clearTimeout(this.#gcTimer);
    this.#gcTimer = setTimeout(() => {
      if (this.#stopped) return;
      if (this.#fetch || this.#exporter?.scanning) return this.#scheduleGc();
      this.#gc = this.#gc.then(() => this.#collect()).catch((e) =>
        this.#d.log("warn", "content.gc_failed", `cleanup of old generations failed: ${e}`)
      );
    }, this.#d.gcQuietMs ?? GC_QUIET_MS);
  }

  async #collect(): Promise<void> {
    const current = this.store.current() ?? 0;
    const pinned = this.store.generations().map((g) => g.gen).filter((g) => g > current);
    await this.store.gc(this.settings().keep, pinned);
  }

  #startFetch(gen: number, sourceIds: number[]): void {
    const hosts = this.#d.config().hosts;
    const sources = sourceIds.map((id) => hosts.find((h) => h.id === id)).filter((h) => !!h)
      .map((h) => this.#d.source(h!));
    const abort = new AbortController();
    const job = { gen, abort, progress: { bytesDone: 0, bytesToGo: 0, objectsToGo: 0 } };
    this.#fetch = job;
    const started = this.#d.now();
    fetchGeneration(gen, sources, this.store, {
      signal: abort.signal,
      onProgress: (p) => job.progress = p,
      onBadObject: (src, what) =>
        this.#d.log(
          "error",
          "content.corrupt",
          `${src.name} sent a corrupt ${what}: it is not used`,
          {
            host: src.name,
          },
        ),
    }).then((r) => {
      this.#failed = undefined;
      this.#d.log(
        "info",
        "content.staged",
        `generation ${gen} staged in ${Math.round(this.#d.now() - started)} ms: ` +
          `${r.fetchedBytes} bytes in ${r.fetchedChunks} chunks fetched, ${r.localBytes} bytes ` +
          `reused, ${r.trees} trees (trees ${r.ms.trees} ms, files ${r.ms.files} ms, ` +
          `stage ${r.ms.stage} ms)`,
        {
          gen,
          fetchedBytes: r.fetchedBytes,
          fetchedChunks: r.fetchedChunks,
          localBytes: r.localBytes,
          ms: r.ms,
        },
      );
    }).catch(async (e) => {
      if (this.#stopped) return;
      // Out of space: partial files are worth less than room for the next attempt.
      if (/No space left|os error 28/.test(String(e))) {
        await pruneStaging(this.store, new Set());
      }
      this.#failed = { gen, at: this.#d.now(), error: (e as Error).message };
      this.#d.log(
        "error",
        "content.stage_failed",
        `cannot stage generation ${gen}: ${(e as Error).message}; serving generation ${
          this.store.current() ?? 0
        }`,
        { gen },
      );
    }).finally(() => {
      if (this.#fetch === job) this.#fetch = undefined;
      this.#tick();
    });
  }

  async #verifyPublished(): Promise<void> {
    const gen = this.store.current();
    if (gen === undefined) return;
    const problems = await this.store.verify(gen, { rehash: true });
    if (problems.length > 0) {
      this.#d.log(
        "error",
        "content.verify_failed",
        `generation ${gen} fails verification: ${problems.slice(0, 5).join("; ")}`,
        { gen, problems: problems.length },
      );
    } else {
      this.#d.log("debug", "content.verified", `generation ${gen} verified`, { gen });
    }
  }

  // ---- ReplicationPeer (the peer API) ----

  generation(gen: number): Generation | undefined {
    return this.store.generation(gen);
  }

  treeBytes(hash: Hash): Uint8Array | undefined {
    return this.store.treeBytes(hash);
  }

  readChunk(hash: Hash): Promise<Uint8Array | undefined> {
    return this.store.readChunk(hash);
  }

  hostStatus(): ReplicationHostStatus {
    const s = this.settings();
    const served = this.store.current() ?? 0;
    const staged = Math.max(0, ...this.store.generations().map((g) => g.gen));
    const isExporter = s.exporter === this.#d.selfId;
    const e = this.#exporter;
    let state: ReplicationState = "idle";
    if (s.exporter === 0) state = "off";
    else if (this.#failed && !this.#fetch) state = "error";
    else if (e?.lastError) state = "error";
    else if (this.#fetch) state = "fetching";
    else if (e?.scanning) state = "scanning";
    else if (e?.pending || e?.held) state = "held";
    else if (staged > served) state = "staged";
    const p = this.#fetch?.progress;
    return {
      hostId: this.#d.selfId,
      name: this.#d.selfName,
      role: isExporter ? "exporter" : "importer",
      generation: served,
      staged,
      state,
      lagMs: this.#behindSince === undefined ? null : Math.round(this.#d.now() - this.#behindSince),
      lagGens: Math.max(0, this.#committed - served),
      bytesToGo: p?.bytesToGo ?? 0,
      objectsToGo: p?.objectsToGo ?? 0,
      bytesDone: p?.bytesDone ?? 0,
      lastError: e?.lastError ?? this.#failed?.error ?? null,
      publishedPath: this.store.publishedPath(),
    };
  }

  exporterStatus(): Pick<ReplicationStatus, "pending" | "history"> | null {
    const e = this.#exporter;
    if (!e) return null;
    const p = e.pending;
    return {
      pending: p ? { gen: p.gen, reason: p.reason, removed: p.removed, total: p.total } : null,
      history: e.history(),
    };
  }

  /** Offered/committed as this host knows them (the exporter's own, or from its heartbeat). */
  generations(): { offered: number; committed: number } {
    const s = this.settings();
    if (s.exporter === this.#d.selfId) {
      return { offered: this.#offered, committed: this.#ctl.committed };
    }
    const exp = this.#d.peers().find((p) => p.id === s.exporter);
    return { offered: exp?.gens.offered ?? 0, committed: exp?.gens.committed ?? 0 };
  }

  command(cmd: ReplicationCommand, _by: string): Promise<{ message: string; gen?: number }> {
    const e = this.#exporter;
    if (!e) {
      const s = this.settings();
      const name = this.#d.config().hosts.find((h) => h.id === s.exporter)?.name;
      return Promise.reject(
        new Error(
          name
            ? `this host is not the exporter; the exporter is ${name}`
            : "replication is not configured (see: appliance replication exporter --help)",
        ),
      );
    }
    return cmd.command === "now" ? e.now(cmd.confirm) : e.rollback(cmd.gen);
  }
}
