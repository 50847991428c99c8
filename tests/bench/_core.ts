/**
 * In-process costs of the pure core, no sockets: step() on a received heartbeat in a
 * 32-host cluster at steady state, and computeView for 32 hosts × 8 `multiple` rules.
 */
import {
  type ClusterConfig,
  configDigest,
  DEFAULT_RULE,
  validateConfig,
} from "../../agent/cluster/config.ts";
import {
  decodeHeartbeat,
  encodeHeartbeat,
  FLAG_AWAITING_MAP,
  type Heartbeat,
  hexToBytes,
} from "../../agent/cluster/heartbeat_codec.ts";
import { step } from "../../agent/cluster/membership.ts";
import { initialState, type NodeState } from "../../agent/cluster/node_state.ts";
import { computeView, emptyView } from "../../agent/cluster/view.ts";
import { median } from "./_stats.ts";

const CLUSTER_ID = "b3a7c0ffee000001";
const KEY = new TextEncoder().encode("bench cluster key, 32 bytes long");
const ALL_BITS = 0xffffffff;

/** n hosts (ids 1001.., priorities 1..n) and `rules` multiple rules (default + port ranges). */
export function benchConfig(n: number, rules = 1): ClusterConfig {
  const config: ClusterConfig = {
    version: 1,
    clusterId: CLUSTER_ID,
    clusterIp: "198.18.0.10",
    mode: "shared",
    buckets: 1024,
    heartbeat: { periodMs: 50, suspectMisses: 3, deadMisses: 5, port: 7946 },
    peerPort: 7947,
    drainTimeoutMs: 60_000,
    hosts: Array.from({ length: n }, (_, i) => ({
      id: 1001 + i,
      name: `h${i + 1}`,
      address: `10.1.0.${i + 1}`,
      priority: i + 1,
      weight: 50,
    })),
    rules: [
      { ...DEFAULT_RULE },
      ...Array.from({ length: rules - 1 }, (_, i) => ({
        ...DEFAULT_RULE,
        id: `r${i + 1}`,
        portLo: 1000 * (i + 1),
        portHi: 1000 * (i + 1) + 99,
        affinity: "none" as const,
      })),
    ],
  };
  const errs = validateConfig(config);
  if (errs.length) throw new Error(`bench config is invalid: ${errs.join("; ")}`);
  return config;
}

/** A heartbeat from host `id` echoing the given view, as a settled peer sends it. */
function peerBeat(config: ClusterConfig, id: number, seq: number, s?: NodeState): Heartbeat {
  const h = config.hosts.find((x) => x.id === id)!;
  return {
    flags: s ? 0 : FLAG_AWAITING_MAP,
    clusterId: hexToBytes(config.clusterId),
    hostId: id,
    incarnation: 1,
    seq,
    state: s ? "converged" : "converging",
    priority: h.priority,
    weight: h.weight,
    configVersion: config.version,
    configDigest: configDigest(config),
    epoch: s?.view.epoch ?? 0,
    membersDigest: s?.view.membersDigest ?? new Uint8Array(8),
    viewDigest: s?.view.viewDigest ?? new Uint8Array(8),
    content: { offered: 0, committed: 0, staged: 0, served: 0 },
    heard: ALL_BITS,
  };
}

export interface StepBench {
  steps: number;
  stepUs: number;
  decodeUs: number;
  /** The 32-host view was converged, with every peer a member, before timing and after. */
  converged: boolean;
  members: number;
}

/**
 * Host 1 of 32 receives heartbeats from its 31 peers in turn, as at 50 ms each (the clock
 * advances 50/31 ms per packet). A warm-up brings it to a converged 32-host view first.
 */
export function benchStep(steps: number): StepBench {
  const config = benchConfig(32);
  const self = config.hosts[0].id;
  const peers = config.hosts.slice(1).map((h) => h.id);
  const dt = config.heartbeat.periodMs / peers.length;
  let now = 1000;
  let s = initialState({ selfId: self, incarnation: 1, key: KEY, config }, now);
  const seqs = new Map(peers.map((id) => [id, 0]));
  const feed = (bytes: Uint8Array, from: string) => {
    s = step(s, { kind: "packet", bytes, from }, now).state;
    now += dt;
  };
  // Warm-up: newcomers first, then (after the cold start) peers echoing host 1's view.
  for (let i = 0; i < 200 * peers.length && !s.converged; i++) {
    const id = peers[i % peers.length];
    const seq = seqs.get(id)! + 1;
    seqs.set(id, seq);
    feed(encodeHeartbeat(peerBeat(config, id, seq, s.awaitingMap ? undefined : s), KEY), "x");
  }
  const converged = s.converged;
  const packets = Array.from({ length: steps }, (_, i) => {
    const id = peers[i % peers.length];
    const seq = seqs.get(id)! + 1;
    seqs.set(id, seq);
    return encodeHeartbeat(peerBeat(config, id, seq, s), KEY);
  });
  const from = "10.1.0.2";
  const t0 = performance.now();
  for (const bytes of packets) feed(bytes, from);
  const stepUs = ((performance.now() - t0) * 1000) / steps;
  const clusterId = hexToBytes(config.clusterId);
  const t1 = performance.now();
  for (const bytes of packets) decodeHeartbeat(bytes, clusterId, KEY);
  const decodeUs = ((performance.now() - t1) * 1000) / steps;
  return {
    steps,
    stepUs,
    decodeUs,
    converged: converged && s.converged,
    members: s.view.members.length,
  };
}

export interface ViewBench {
  hosts: number;
  rules: number;
  buckets: number;
  samples: number;
  fromScratchMs: number;
  oneLeaveMs: number;
}

/** Median of `samples` computeView calls: from an empty map, and after one host leaves. */
export function benchView(samples: number): ViewBench {
  const config = benchConfig(32, 8);
  const members = config.hosts.map((h) => h.id);
  const scratch: number[] = [], leave: number[] = [];
  const full = computeView(emptyView(), config, members, 1);
  const fewer = members.slice(0, -1);
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    computeView(emptyView(), config, members, 1);
    const t1 = performance.now();
    computeView(full, config, fewer, 2);
    const t2 = performance.now();
    scratch.push(t1 - t0), leave.push(t2 - t1);
  }
  return {
    hosts: members.length,
    rules: config.rules.length,
    buckets: config.buckets,
    samples,
    fromScratchMs: median(scratch),
    oneLeaveMs: median(leave),
  };
}
