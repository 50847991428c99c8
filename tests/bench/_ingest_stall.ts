/**
 * The agent's event loop while the exporter ingests a large file: one agent (loopback, no
 * root) exporting a source that holds one big file. Reports how long the scan took and
 * how late the agent's own timers fired meanwhile (GET /stats: worstTimerLateMs and the
 * number of timers late by more than a heartbeat period), which must stay below the
 * heartbeat period: hashing and chunking yield to the event loop between 1 MiB slices.
 */
import { LoopbackCluster } from "../../agent/lab/loopback_cluster.ts";
import { callAgent } from "../../agent/control/control_client.ts";
import type { ReplicationStatus } from "../../agent/replication/status.ts";
import { APPLIANCE, subnet } from "./_lab.ts";
import { progress, sleep } from "./_stats.ts";

export interface IngestStall {
  fileBytes: number;
  /** From the end of the write to the generation served: includes the 2 s stabilization. */
  ingestMs: number;
  periodMs: number;
  worstTimerLateMsBefore: number;
  worstTimerLateMsDuring: number;
  timersLateOverPeriod: number;
}

interface Stats {
  worstTimerLateMs: number;
  timersLateOverPeriod: number;
}

export async function runIngestStall(mib: number): Promise<IngestStall> {
  const baseDir = await Deno.makeTempDir({ prefix: "appliance-ingest-" });
  let lab: LoopbackCluster | undefined;
  try {
    const src = `${baseDir}/src`;
    await Deno.mkdir(src);
    const lab0 = await LoopbackCluster.create({
      hosts: 1,
      subnet: subnet(197),
      baseDir: `${baseDir}/lab`,
      command: APPLIANCE,
      initArgs: ["--content-source", src],
    });
    lab = lab0;
    const dir = lab0.hosts[0].stateDir;
    const served = async () =>
      (await callAgent<ReplicationStatus>(dir, "GET", "/replication/status")).committed;
    const until = async (pred: () => Promise<boolean>, ms: number) => {
      const deadline = Date.now() + ms;
      while (!(await pred())) {
        if (Date.now() > deadline) throw new Error("ingest did not finish in time");
        await sleep(100);
      }
    };
    await until(async () => (await served()) >= 1, 30_000); // the empty tree
    await sleep(1000);
    const before = await callAgent<Stats>(dir, "GET", "/stats");
    progress(`writing a ${mib} MiB file`);
    const block = crypto.getRandomValues(new Uint8Array(1 << 16));
    const f = await Deno.open(`${src}/big.bin`, { write: true, create: true });
    const slice = new Uint8Array(1 << 20);
    for (let i = 0; i < mib; i++) {
      for (let o = 0; o < slice.length; o += block.length) {
        block[i % block.length] ^= o & 0xff; // every MiB differs, so chunks are new
        slice.set(block, o);
      }
      await f.write(slice);
    }
    f.close();
    const t0 = Date.now();
    await until(async () => (await served()) >= 2, 600_000);
    const ingestMs = Date.now() - t0;
    const after = await callAgent<Stats>(dir, "GET", "/stats");
    return {
      fileBytes: mib << 20,
      ingestMs,
      periodMs: 50,
      worstTimerLateMsBefore: before.worstTimerLateMs,
      worstTimerLateMsDuring: after.worstTimerLateMs,
      timersLateOverPeriod: after.timersLateOverPeriod - before.timersLateOverPeriod,
    };
  } finally {
    await lab?.cleanup();
    await Deno.remove(baseDir, { recursive: true }).catch(() => {});
  }
}
