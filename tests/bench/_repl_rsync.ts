/**
 * The rsync baseline of `bench:replication`, over the same lab link as the cluster: an
 * rsync daemon in each importer's namespace (on its lab address, port 873), and the
 * exporter's namespace pushing to both importers in parallel, as the exporter serves two
 * hosts in the cluster. Two ways:
 *
 *   plain      rsync -a --delete SRC/ rsync://IMPORTER/plain/           (updates in place)
 *   linkdest   rsync -a --delete --link-dest=../N SRC/ rsync://IMPORTER/ld/gens/N+1/,
 *              then in the importer: ln -s gens/N+1 current.tmp && mv -T current.tmp current
 *              (a new immutable copy swapped atomically, like our generations)
 *
 * Needs `rsync` on the machine (apt-get install -y rsync).
 */
import type { LabHost, NetnsLab } from "../../agent/lab/netns_lab.ts";

export type RsyncMode = "plain" | "linkdest";

export interface RsyncRun {
  /** From the first push started to the last importer done (swap included). */
  ms: number;
  perHostMs: Record<string, number>;
}

const PUSH_TIMEOUT_MS = 30 * 60_000;

export class RsyncBaseline {
  #lab: NetnsLab;
  #from: LabHost;
  #to: LabHost[];
  #dir: string;
  /** The newest copy under ld/gens/ (0: none yet). */
  #gen = 0;
  #daemons: Deno.ChildProcess[] = [];

  constructor(lab: NetnsLab, from: LabHost, to: LabHost[], dir: string) {
    this.#lab = lab;
    this.#from = from;
    this.#to = to;
    this.#dir = dir;
  }

  /** Where importer h's copy lives (plain: the module root; linkdest: `current`). */
  copyOf(h: LabHost, mode: RsyncMode): string {
    return mode === "plain" ? `${this.#dir}/${h.name}/plain` : `${this.#dir}/${h.name}/ld/current`;
  }

  /** Starts a daemon in each importer's namespace and waits until the exporter can list it. */
  async start(timeoutMs = 10_000): Promise<void> {
    for (const h of this.#to) {
      const root = `${this.#dir}/${h.name}`;
      await Deno.mkdir(`${root}/plain`, { recursive: true });
      await Deno.mkdir(`${root}/ld/gens`, { recursive: true });
      const conf = `${root}/rsyncd.conf`;
      await Deno.writeTextFile(
        conf,
        [
          "use chroot = no",
          "uid = root",
          "gid = root",
          "numeric ids = yes",
          "max connections = 8",
          `lock file = ${root}/rsyncd.lock`,
          `log file = ${root}/rsyncd.log`,
          "[plain]",
          `path = ${root}/plain`,
          "read only = no",
          "[ld]",
          `path = ${root}/ld`,
          "read only = no",
          "",
        ].join("\n"),
      );
      const args = [
        "--daemon",
        "--no-detach",
        `--config=${conf}`,
        `--address=${h.address}`,
        "--port=873",
      ];
      this.#daemons.push(this.#lab.spawn(h, "rsync", args, { logFile: `${root}/daemon.out` }));
    }
    for (const h of this.#to) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          await this.#lab.exec(this.#from, ["rsync", `rsync://${h.address}/`], 2000);
          break;
        } catch (e) {
          if (Date.now() > deadline) {
            throw new Error(`rsync daemon on ${h.name} not answering: ${(e as Error).message}`);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
  }

  /** The daemons' pids (their per-connection children's CPU adds up in them once reaped). */
  get daemonPids(): number[] {
    return this.#daemons.map((d) => d.pid);
  }

  /** Pushes `src` to every importer in parallel; resolves when all are done. */
  async sync(src: string, mode: RsyncMode): Promise<RsyncRun> {
    const gen = mode === "linkdest" ? ++this.#gen : 0;
    const started = performance.now();
    const perHostMs: Record<string, number> = {};
    await Promise.all(this.#to.map(async (h) => {
      const args = ["rsync", "-a", "--delete"];
      if (mode === "plain") args.push(`${src}/`, `rsync://${h.address}/plain/`);
      else {
        if (gen > 1) args.push(`--link-dest=../${gen - 1}`);
        args.push(`${src}/`, `rsync://${h.address}/ld/gens/${gen}/`);
      }
      await this.#lab.exec(this.#from, args, PUSH_TIMEOUT_MS);
      if (mode === "linkdest") {
        const ld = `${this.#dir}/${h.name}/ld`;
        await this.#lab.exec(h, [
          "sh",
          "-c",
          'cd "$1" && ln -s "gens/$2" current.tmp && mv -T current.tmp current',
          "sh",
          ld,
          String(gen),
        ]);
      }
      perHostMs[h.name] = performance.now() - started;
    }));
    return { ms: performance.now() - started, perHostMs };
  }

  /** Removes linkdest copies older than the previous one (not timed: a cleanup job's work). */
  async prune(): Promise<void> {
    for (const h of this.#to) {
      for (let g = 1; g < this.#gen - 1; g++) {
        await Deno.remove(`${this.#dir}/${h.name}/ld/gens/${g}`, { recursive: true }).catch(
          () => {},
        );
      }
    }
  }
}
