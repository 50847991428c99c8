/**
 * `deno task bench:cluster`: how fast the cluster notices a dead host and agrees again,
 * what a heartbeat costs, and how the agent holds up at 32 hosts and on starved CPUs.
 * Prints one JSON object on stdout; progress goes to stderr.
 *
 *   crash           kill -9 of one host of 3 (fresh cluster per run): detect and converge ms
 *   graceful_leave  SIGTERM (bow-out) of the same host after it rejoined: converge ms
 *   heartbeat       bytes on the wire; step() time per received heartbeat, in the agents
 *                   (GET /stats) and in-process for a 32-host node
 *   bucket_map      computeView for 32 hosts × 8 multiple rules: from scratch, after a leave
 *   rss_32_hosts    one real agent whose 31 peers are faked by this process over UDP
 *   busy_cores      false suspicions while CPU burners take every core
 *   ingest_stall    timer lateness while the exporter hashes and chunks a 1 GiB file
 */
import { HEARTBEAT_BYTES } from "../../agent/cluster/heartbeat_codec.ts";
import { benchStep, benchView } from "./_core.ts";
import { runFailover } from "./_failover.ts";
import { runRss32 } from "./_rss32.ts";
import { runBusy } from "./_busy.ts";
import { runIngestStall } from "./_ingest_stall.ts";
import type { StatsTotal } from "./_lab.ts";
import { progress, round, summarize } from "./_stats.ts";
import { benchHeader, benchOptions } from "./_cli.ts";

const HELP = `Usage: deno task bench:cluster [--runs N] [--quick]

Measures failure detection and convergence on real agents (loopback addresses, no root),
the cost of a heartbeat, bucket-map computation, memory at 32 hosts, and false suspicions
under CPU load. Prints one JSON object on stdout; progress on stderr. About 2 minutes.

Options:
  --runs N   failover runs (a fresh 3-host cluster each), 1..50 (default 10; --quick: 3)
  --quick    a smoke run: 3 runs, shorter phases (about 1 minute)
  --help     this text`;

interface Options {
  runs: number;
  quick: boolean;
}

function parse(args: string[]): Options | undefined {
  let runs: number | undefined, quick = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") return undefined;
    else if (a === "--quick") quick = true;
    else if (a === "--runs" || a.startsWith("--runs=")) {
      const v = a.includes("=") ? a.slice(7) : args[++i];
      runs = Number(v);
      if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
        throw new Error(`--runs must be a whole number from 1 to 50, got "${v ?? ""}"`);
      }
    } else throw new Error(`unknown option "${a}" (see: --help)`);
  }
  return { runs: runs ?? (quick ? 3 : 10), quick };
}

/** Runs one phase; a failure is reported in the JSON, and the other phases still run. */
async function phase<T>(name: string, fn: () => T | Promise<T>): Promise<T | { error: string }> {
  progress(`${name}...`);
  const t0 = performance.now();
  try {
    const r = await fn();
    progress(`${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return r;
  } catch (e) {
    progress(`${name} failed: ${(e as Error).stack ?? e}`);
    return { error: (e as Error).message };
  }
}

async function main(args: string[]): Promise<number> {
  const o = benchOptions("bench:cluster", args, parse, HELP);
  if (typeof o === "number") return o;
  const started = performance.now();
  const head = { ...await benchHeader("cluster", o.quick), runs: o.runs };

  // In-process first, while no agent competes for the CPU.
  const inProcess = await phase("heartbeat step() in-process", () => benchStep(100_000));
  const bucketMap = await phase("bucket_map", () => benchView(50));
  const fo = await phase("failover", () => runFailover(o.runs));
  const rss = await phase("rss_32_hosts", () => runRss32(o.quick ? 3_000 : 10_000));
  const busy = await phase(
    "busy_cores",
    () => runBusy(2, o.quick ? 20 : 60, o.quick ? 2_000 : 5_000),
  );
  const stall = await phase("ingest_stall", () => runIngestStall(o.quick ? 256 : 1024));

  const out = {
    ...head,
    ingest_stall: "error" in stall ? stall : {
      file_mib: stall.fileBytes / (1 << 20),
      ingest_ms_incl_2s_window: stall.ingestMs,
      worst_timer_late_ms: stall.worstTimerLateMsDuring,
      worst_timer_late_ms_before: stall.worstTimerLateMsBefore,
      timers_late_over_period: stall.timersLateOverPeriod,
      period_ms: stall.periodMs,
    },
    crash: "error" in fo ? fo : {
      runs: fo.crash.length,
      detect_ms: summarize(fo.crash.map((s) => s.detectMs), 0),
      converge_ms: summarize(fo.crash.map((s) => s.convergeMs), 0),
      failures: fo.failures,
    },
    graceful_leave: "error" in fo ? fo : (() => {
      const g = summarize(fo.graceful.map((s) => s.convergeMs), 0);
      return {
        runs: fo.graceful.length,
        converge_ms: { median: g.median, max: g.max, raw: g.raw },
        detect_ms_raw: fo.graceful.map((s) => s.detectMs),
      };
    })(),
    heartbeat: {
      bytes: HEARTBEAT_BYTES,
      // Whole lives of the failover runs' survivors (a few s): start-up and view changes included.
      agents_failover_runs: "error" in fo ? fo : totals(fo.stats),
      // The busy_cores cluster, settled, before the burners start.
      agents_3_host_steady: "error" in busy ? busy : totals(busy.quiet),
      agents_32_host_steady: "error" in rss ? rss : {
        packets_per_s: round(rss.heartbeatsPerSec, 0),
        step_us_mean: nullableRound(rss.stepUsMean, 1),
        worst_packet_ms: round(rss.worstPacketMs, 3),
      },
      in_process_32_hosts: "error" in inProcess ? inProcess : {
        steps: inProcess.steps,
        step_us_per_heartbeat: round(inProcess.stepUs, 2),
        decode_only_us: round(inProcess.decodeUs, 2),
        converged_32_host_view: inProcess.converged && inProcess.members === 32,
      },
    },
    bucket_map: "error" in bucketMap ? bucketMap : {
      hosts: bucketMap.hosts,
      rules: bucketMap.rules,
      buckets: bucketMap.buckets,
      samples: bucketMap.samples,
      from_scratch_ms_median: round(bucketMap.fromScratchMs, 3),
      one_leave_ms_median: round(bucketMap.oneLeaveMs, 3),
    },
    rss_32_hosts: "error" in rss ? rss : {
      hosts: rss.hosts,
      alive: rss.alive,
      converged_32: rss.converged && rss.alive === 32,
      converge_ms: nullableRound(rss.convergeMs, 0),
      rss_mb: nullableRound(rss.rssMb, 1),
      rss_mb_1_host: nullableRound(rss.rssMb1Host, 1),
      hwm_mb: nullableRound(rss.hwmMb, 1),
      measured_s: round(rss.measuredSec, 1),
      heartbeats_per_s: round(rss.heartbeatsPerSec, 0),
      step_us_mean: nullableRound(rss.stepUsMean, 1),
      worst_packet_ms: round(rss.worstPacketMs, 3),
      drops: rss.drops,
      fake_send_errors: rss.fakeSendErrors,
    },
    busy_cores: "error" in busy ? busy : {
      burners: busy.burners,
      cores: busy.cores,
      seconds: busy.seconds,
      peer_down_events: busy.peerDown,
      peer_down_messages: busy.peerDownMessages.slice(0, 20),
      peer_down_context: busy.context.slice(0, 40),
      worst_heartbeat_age_ms: busy.worstHeartbeatAgeMs,
      status_polls: busy.statusPolls,
      status_errors: busy.statusErrors,
      step_us_mean_starved: nullableRound(busy.starved.meanUs(), 1),
      loadavg_at_end: busy.loadavg,
    },
    elapsed_s: round((performance.now() - started) / 1000, 1),
  };
  console.log(JSON.stringify(out, null, 2));
  const failed = [inProcess, bucketMap, fo, rss, busy].some((r) => "error" in r) ||
    ("failures" in fo && fo.failures.length > 0);
  return failed ? 1 : 0;
}

function totals(t: StatsTotal) {
  return {
    agents: t.agents,
    packets: t.packets,
    step_us_mean: nullableRound(t.meanUs(), 1),
    worst_packet_ms: round(t.worstPacketMs, 3),
  };
}

function nullableRound(x: number | null, digits: number): number | null {
  return x === null ? null : round(x, digits);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
