/**
 * One real agent in a 32-host cluster whose other 31 members are played by this process.
 *
 * A 1-host loopback cluster is started; a new config version with 31 more hosts is written
 * into its state db and the agent told to reload it (`config set` cannot add hosts). Each
 * fake host binds its own 127.x address on the heartbeat port, sends a valid heartbeat
 * every period, and echoes the view (epoch and digests) of the agent's latest heartbeat,
 * as a settled peer does. The agent thus holds 31 live peers and a 32-host view.
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { DatabaseSync } from "node:sqlite";
import { type ClusterConfig, configDigest, validateConfig } from "../../agent/cluster/config.ts";
import {
  decodeHeartbeat,
  encodeHeartbeat,
  FLAG_AWAITING_MAP,
  type Heartbeat,
  hexToBytes,
} from "../../agent/cluster/heartbeat_codec.ts";
import { callAgent } from "../../agent/control/control_client.ts";
import type { LoopbackCluster } from "../../agent/lab/loopback_cluster.ts";
import { dbPath } from "../../agent/state_dir.ts";
import { SqliteStateStore } from "../../db/state_store.ts";
import { agentStats, createLab, subnet } from "./_lab.ts";
import { progress, sleep } from "./_stats.ts";

export interface Rss32 {
  hosts: number;
  alive: number;
  converged: boolean;
  convergeMs: number | null;
  rssMb: number | null;
  /** The same agent's RSS as a 1-host cluster, just before it grew to 32. */
  rssMb1Host: number | null;
  hwmMb: number | null;
  measuredSec: number;
  heartbeatsPerSec: number;
  stepUsMean: number | null;
  worstPacketMs: number;
  drops: Record<string, number>;
  fakeSendErrors: number;
  /** Deno.memoryUsage() of the agent at the end (rss, heapTotal, heapUsed, external). */
  heap?: Record<string, number>;
}

interface Fake {
  id: number;
  name: string;
  address: string;
  priority: number;
  socket: dgram.Socket;
  seq: number;
}

export async function runRss32(holdMs: number): Promise<Rss32> {
  const net = subnet(198);
  let lab: LoopbackCluster | undefined;
  const fakes: Fake[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    lab = await createLab(1, net);
    const h1 = lab.hosts[0];
    await lab.waitFor(h1, (s) => s.converged, 15_000);
    await sleep(1000);
    const rss1 = procMemory(h1.proc!.pid).rssMb;

    const { config, key } = grow(h1.stateDir, net, 31);
    const agentAddress = h1.address;
    const port = config.heartbeat.port;
    for (const h of config.hosts.filter((h) => h.address !== agentAddress)) {
      fakes.push({ ...h, socket: await bindUdp(h.address, port), seq: 0 });
    }
    // Every fake receives the agent's heartbeat; the latest one is the view to echo.
    const clusterId = hexToBytes(config.clusterId);
    let echo: Heartbeat | undefined;
    for (const f of fakes) {
      f.socket.on("message", (msg: Buffer) => {
        const r = decodeHeartbeat(new Uint8Array(msg), clusterId, key);
        if (r.ok && (!echo || r.hb.seq > echo.seq || r.hb.incarnation > echo.incarnation)) {
          echo = r.hb;
        }
      });
    }
    const reload = await callAgent<{ version: number }>(h1.stateDir, "POST", "/config/reload");
    if (reload.version !== config.version) {
      throw new Error(`the agent did not take config version ${config.version}: ${reload.version}`);
    }

    const digest = configDigest(config);
    let sendErrors = 0;
    const beat = () => {
      for (const f of fakes) {
        const settled = echo && !(echo.flags & FLAG_AWAITING_MAP);
        const bytes = encodeHeartbeat({
          flags: settled ? 0 : FLAG_AWAITING_MAP,
          clusterId,
          hostId: f.id,
          incarnation: 1,
          seq: ++f.seq,
          state: settled ? "converged" : "converging",
          priority: f.priority,
          weight: 50,
          configVersion: config.version,
          configDigest: digest,
          epoch: settled ? echo!.epoch : 0,
          membersDigest: settled ? echo!.membersDigest : new Uint8Array(8),
          viewDigest: settled ? echo!.viewDigest : new Uint8Array(8),
          content: { offered: 0, committed: 0, staged: 0, served: 0 },
          heard: 0xffffffff,
        }, key);
        f.socket.send(Buffer.from(bytes), port, agentAddress, (err) => {
          if (err) sendErrors++;
        });
      }
    };
    timer = setInterval(beat, config.heartbeat.periodMs);
    const t0 = performance.now();
    const want = config.hosts.length;
    let convergeMs: number | null = null;
    try {
      await lab.waitFor(
        h1,
        (s) =>
          s.converged && s.hosts.length === want && s.hosts.every((h) => h.state === "converged"),
        15_000,
      );
      convergeMs = performance.now() - t0;
      progress(`rss_32_hosts: 32-host view converged after ${Math.round(convergeMs)} ms`);
    } catch (e) {
      progress(`rss_32_hosts: ${(e as Error).message.slice(0, 300)}`);
    }

    const before = await agentStats(h1);
    const m0 = performance.now();
    await sleep(holdMs);
    const after = await agentStats(h1);
    const measuredMs = performance.now() - m0;
    const mem = procMemory(h1.proc!.pid);
    const status = await lab.status(h1);
    const packets = after.packets - before.packets;
    return {
      hosts: status.hosts.length,
      alive: status.hosts.filter((h) => h.state !== "unreachable").length,
      converged: status.converged && status.hosts.every((h) => h.state === "converged"),
      convergeMs,
      rssMb: mem.rssMb,
      rssMb1Host: rss1,
      hwmMb: mem.hwmMb,
      measuredSec: measuredMs / 1000,
      heartbeatsPerSec: packets / (measuredMs / 1000),
      stepUsMean: packets > 0 ? ((after.packetMs - before.packetMs) / packets) * 1000 : null,
      worstPacketMs: after.worstPacketMs,
      heap: (after as unknown as { memory?: Record<string, number> }).memory,
      drops: after.drops,
      fakeSendErrors: sendErrors,
    };
  } finally {
    if (timer !== undefined) clearInterval(timer);
    await Promise.all(fakes.map((f) => new Promise<void>((r) => f.socket.close(() => r()))));
    await lab?.cleanup();
  }
}

/** Writes config version+1 with `extra` more hosts into the state db; returns it and the key. */
function grow(stateDir: string, net: string, extra: number) {
  const db = new DatabaseSync(dbPath(stateDir));
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const store = new SqliteStateStore(db);
    const latest = store.latestConfig()!.config as ClusterConfig;
    const keyB64 = store.getSecret("cluster_key");
    if (!keyB64) throw new Error(`no cluster_key secret in ${dbPath(stateDir)}`);
    const key = Uint8Array.from(atob(keyB64), (c) => c.charCodeAt(0));
    const usedIds = new Set(latest.hosts.map((h) => h.id));
    const usedPrio = new Set(latest.hosts.map((h) => h.priority));
    const freePrio = Array.from({ length: 32 }, (_, i) => i + 1).filter((p) => !usedPrio.has(p));
    const hosts = [...latest.hosts];
    for (let i = 0; i < extra; i++) {
      let id = 0;
      while (id === 0 || usedIds.has(id)) id = 1 + Math.floor(Math.random() * 0xfffffffe);
      usedIds.add(id);
      hosts.push({
        id,
        name: `f${i + 2}`,
        address: `${net}.${12 + i}`,
        priority: freePrio[i],
        weight: 50,
      });
    }
    const config: ClusterConfig = { ...latest, version: latest.version + 1, hosts };
    const errs = validateConfig(config);
    if (errs.length) throw new Error(`the 32-host config is invalid: ${errs.join("; ")}`);
    store.saveConfig(config, config.version);
    return { config, key };
  } finally {
    db.close();
  }
}

function bindUdp(address: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: false });
    socket.once("error", (e: Error) => reject(new Error(`cannot bind ${address}:${port}: ${e}`)));
    socket.bind(port, address, () => resolve(socket));
  });
}

/** VmRSS and VmHWM of a process, in MB. */
function procMemory(pid: number): { rssMb: number | null; hwmMb: number | null } {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) / 1024 : null;
  };
  return { rssMb: kb("VmRSS"), hwmMb: kb("VmHWM") };
}
