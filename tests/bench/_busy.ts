/**
 * False suspicions under CPU starvation: a converged 3-host cluster while CPU burners
 * (busy loops in their own processes) compete with the agents for every core.
 * Counts `peer.down` events on every host during the window (target 0) and the worst
 * heartbeat age any host reports for a peer, polling status every 200 ms.
 */
import type { LoopbackCluster } from "../../agent/lab/loopback_cluster.ts";
import { type LoggedEvent, readEvents } from "./_events.ts";
import {
  type AgentStats,
  agentStats,
  createLab,
  StatsTotal,
  subnet,
  waitAllConverged,
} from "./_lab.ts";
import { progress, sleep } from "./_stats.ts";

export interface BusyResult {
  burners: number;
  cores: number;
  seconds: number;
  peerDown: number;
  peerDownMessages: string[];
  context: string[];
  worstHeartbeatAgeMs: number;
  statusPolls: number;
  statusErrors: number;
  loadavg: number[];
  /** step() per received heartbeat, over all 3 agents: settled and idle, then starved. */
  quiet: StatsTotal;
  starved: StatsTotal;
}

export async function runBusy(
  burners: number,
  seconds: number,
  quietMs: number,
): Promise<BusyResult> {
  let lab: LoopbackCluster | undefined;
  const procs: Deno.ChildProcess[] = [];
  try {
    lab = await createLab(3, subnet(199));
    await waitAllConverged(lab, lab.hosts, 15_000);
    const hosts = lab.hosts;
    const sample = () => Promise.all(hosts.map(agentStats));
    const s0 = await sample();
    await sleep(quietMs);
    const s1 = await sample();
    const t0 = Date.now();
    for (let i = 0; i < burners; i++) {
      procs.push(
        new Deno.Command(Deno.execPath(), {
          args: ["eval", "while (true) {}"],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    }
    progress(`busy_cores: ${burners} burners running for ${seconds} s`);
    let worst = 0, polls = 0, errors = 0;
    const end = t0 + seconds * 1000;
    while (Date.now() < end) {
      const next = Date.now() + 200;
      for (const h of lab.hosts) {
        try {
          const s = await lab.status(h);
          polls++;
          for (const x of s.hosts) {
            if (!x.self && x.heartbeatAgeMs !== null) worst = Math.max(worst, x.heartbeatAgeMs);
          }
        } catch {
          errors++;
        }
      }
      await sleep(Math.max(0, next - Date.now()));
    }
    const loadavg = Deno.loadavg();
    const s2 = await sample();
    stopAll(procs);
    const downs = lab.hosts.flatMap((h) =>
      readEvents(h.stateDir, ["peer.down"], t0).filter((e) => e.ts < end)
    );
    // What every host logged within a second of each false suspicion, to tell a starved
    // sender (its peers agree) from a starved receiver (it alone saw silence).
    const context = lab.hosts.flatMap((h) =>
      readEvents(h.stateDir, CONTEXT_KINDS, t0).filter((e) =>
        downs.some((d) => Math.abs(e.ts - d.ts) <= 1000)
      )
    ).sort((a, b) => a.ts - b.ts || a.id - b.id);
    return {
      burners,
      cores: navigator.hardwareConcurrency,
      seconds,
      peerDown: downs.length,
      peerDownMessages: downs.map(describe),
      context: context.map(describe),
      worstHeartbeatAgeMs: worst,
      statusPolls: polls,
      statusErrors: errors,
      loadavg,
      quiet: delta(s0, s1),
      starved: delta(s1, s2),
    };
  } finally {
    stopAll(procs);
    await Promise.all(procs.map((p) => p.status));
    await lab?.cleanup();
  }
}

const CONTEXT_KINDS = [
  "peer.down",
  "peer.up",
  "peer.restarted",
  "view.changed",
  "cluster.converged",
];

/** "+12.345 s h1 peer.down: host h3 is down: missed 5 heartbeats {silentMs: 262}" */
function describe(e: LoggedEvent): string {
  const details = e.kind === "peer.down" || e.kind === "cluster.converged"
    ? ` ${JSON.stringify(e.details)}`
    : "";
  return `${
    new Date(e.ts).toISOString().slice(11, 23)
  } ${e.host} ${e.kind}: ${e.message}${details}`;
}

/** Packets and step() time between two samples; the worst packet is the agents' lifetime worst. */
function delta(a: AgentStats[], b: AgentStats[]): StatsTotal {
  const t = new StatsTotal();
  a.forEach((x, i) =>
    t.add({
      packets: b[i].packets - x.packets,
      packetMs: b[i].packetMs - x.packetMs,
      worstPacketMs: b[i].worstPacketMs,
    })
  );
  return t;
}

function stopAll(procs: Deno.ChildProcess[]): void {
  for (const p of procs) {
    try {
      p.kill("SIGKILL");
    } catch { /* already gone */ }
  }
}
