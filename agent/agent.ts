/**
 * A running agent: the driver, the peer API (HTTPS on the host's address) and the control
 * API (unix socket in the state dir). main.ts builds the adapters and calls startAgent().
 */
import { Driver } from "./driver.ts";
import { initialState } from "./cluster/node_state.ts";
import type { AdminState } from "./cluster/node_state.ts";
import type { ClusterConfig } from "./cluster/config.ts";
import { servePeerApi } from "./peer/peer_server.ts";
import { createPeerApp } from "./peer/peer_app.ts";
import { createControlApp } from "./control/control_app.ts";
import type { HttpsPeerClient } from "./adapters/https_peer_client.ts";
import type { Clock, RuleApplier, Transport } from "./ports.ts";
import { b64, type Membership, socketPath, type StateDir } from "./state_dir.ts";
import { type PanelListen, startPanel } from "./panel_server.ts";
import { HealthMonitor } from "./health/health_monitor.ts";
import { probeService } from "./health/service_probe.ts";
import type { Assets } from "../web/deps.ts";
import { ReplicationService } from "./replication/replication_service.ts";
import { contentRoot } from "./replication/content_store.ts";
import { peerSource } from "./replication/peer_source.ts";
import {
  gatherStatus,
  type ReplicationOps,
  sendCommand,
} from "./replication/cluster_replication.ts";
import { FLAG_CONTENT_ERROR } from "./cluster/heartbeat_codec.ts";
import { startGcPacer } from "./adapters/gc_pacer.ts";

export interface AgentOptions {
  state: StateDir;
  membership: Membership;
  clock: Clock;
  transport: Transport;
  rules: RuleApplier;
  peers: HttpsPeerClient;
  /** Where the peer API listens; defaults to the host's address and the config's peer port. */
  peerListen?: { hostname: string; port: number };
  /** Where the admin panel listens (none: no panel), and its assets. */
  panel?: { listen: PanelListen[]; assets: Assets };
}

export interface RunningAgent {
  driver: Driver;
  replication: ReplicationService;
  /** Panel listen addresses that failed to bind, with the reason. */
  panelFailed: string[];
  stop(): Promise<void>;
}

const ADMIN_KEY = "admin_state";
const RETENTION = { maxAgeMs: 30 * 86_400_000, maxCount: 1_000_000 };

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const { state, membership: m } = o;
  const sock = socketPath(state.dir);
  await claimSocket(sock, state.dir);
  const admin = (state.store.getSetting(ADMIN_KEY) ?? "active") as AdminState;
  const node = initialState(
    {
      selfId: m.identity.hostId,
      incarnation: state.store.nextIncarnation(),
      key: m.key,
      config: m.config,
      admin,
    },
    o.clock.now(),
  );
  const driver = new Driver(node, {
    clock: o.clock,
    transport: o.transport,
    peers: o.peers,
    rules: o.rules,
    events: state.events,
    saveConfig: (c) => state.store.saveConfig(c, c.version),
    hostName: m.identity.name,
  });
  driver.onChange(() => {
    if (driver.state.admin !== (state.store.getSetting(ADMIN_KEY) ?? "active")) {
      state.store.setSetting(ADMIN_KEY, driver.state.admin);
    }
  });

  const traffic = o.rules.traffic?.bind(o.rules);
  const replication = await ReplicationService.open({
    selfId: m.identity.hostId,
    selfName: m.identity.name,
    root: contentRoot(state.dir),
    config: () => driver.state.config,
    peers: () =>
      [...driver.state.peers.values()].filter((p) => p.alive && !p.refused && p.last).map((p) => ({
        id: p.id,
        gens: p.last!.content,
        error: (p.last!.flags & FLAG_CONTENT_ERROR) !== 0,
      })),
    settled: () => driver.state.converged,
    onChange: (fn) => driver.onChange(fn),
    report: (report, reason) => driver.input({ kind: "content", report, reason }),
    source: (h) => peerSource(o.peers, h),
    log: (level, kind, message, details) =>
      state.events.append({ ts: Date.now(), host: m.identity.name, level, kind, message, details }),
    now: () => o.clock.now(),
    wallNow: () => Date.now(),
  });
  const here = () => ({
    cluster: driver.status(),
    settings: driver.state.config.replication,
    local: replication,
  });
  const replicationOps: ReplicationOps = {
    status: () =>
      gatherStatus({
        ...here(),
        ask: (address) => o.peers.request(address, "GET", "/peer/v1/replication/status"),
      }),
    command: (cmd, by) =>
      sendCommand(
        {
          ...here(),
          forward: (address, body) =>
            o.peers.request(address, "POST", "/peer/v1/replication/command", body),
        },
        cmd,
        by,
      ),
  };
  const peerApp = createPeerApp({
    traffic,
    replication: () => replication,
    agent: {
      snapshot: () => driver.snapshot(),
      config: () => driver.state.config,
      status: () => driver.status(),
      adoptConfig: (config, source) => driver.input({ kind: "config", config, source }),
      command: (cmd, by) => driver.command(cmd, by),
    },
    key: m.key,
    caPem: m.caCert,
    events: state.events,
    join: {
      store: state.store,
      config: () => driver.state.config,
      publish: (config) => driver.publishConfig(config),
      ca: { certPem: m.caCert, keyPem: m.caKey },
      clusterKeyB64: b64(m.key),
      now: () => Date.now(),
    },
    now: () => Date.now(),
  });
  const listen = o.peerListen ?? { hostname: m.identity.address, port: m.config.peerPort };
  const peerServer = await servePeerApi(
    { ...listen, cert: m.hostCert, key: m.hostKey },
    peerApp.fetch,
  );

  const controlApp = createControlApp({
    status: () => driver.status(),
    stats: () => ({
      ...driver.stats,
      drops: driver.state.drops,
      plan: driver.plan,
      memory: Deno.memoryUsage(),
      gc: { collections: gc.collections, spentMs: gc.spentMs },
    }),
    command: (cmd, by) => driver.command(cmd, by),
    reloadConfig: async () => {
      const latest = state.store.latestConfig()!.config as ClusterConfig;
      if (latest.version <= driver.state.config.version) {
        return { version: driver.state.config.version, pushed: [], failed: [] };
      }
      return { version: latest.version, ...(await driver.publishConfig(latest)) };
    },
    peerRequest: (address, method, path, body) => o.peers.request(address, method, path, body),
    replication: replicationOps,
  });
  const controlServer = Deno.serve(
    { transport: "unix", path: sock, onListen: () => {} },
    controlApp.fetch,
  );
  Deno.chmodSync(sock, 0o600);

  const panel = o.panel && o.panel.listen.length > 0
    ? startPanel(o.panel.listen, {
      driver,
      state,
      membership: m,
      peers: o.peers,
      assets: o.panel.assets,
      traffic,
      replication: replicationOps,
    })
    : undefined;
  for (const f of panel?.failed ?? []) {
    state.events.append({
      ts: Date.now(),
      host: m.identity.name,
      level: "warn",
      kind: "panel.listen_failed",
      message: `the admin panel cannot listen on ${f}`,
    });
  }

  const prune = setInterval(() => state.events.prune({ ...RETENTION, now: Date.now() }), 3_600_000);
  state.events.prune({ ...RETENTION, now: Date.now() });
  // Replication's buffers are garbage by the hundred MB: collected before they pile up.
  const gc = startGcPacer({ beforeCollect: () => driver.input({ kind: "pause" }) });
  driver.start();
  replication.start();
  const health = new HealthMonitor({
    config: () => driver.state.config,
    probe: probeService,
    report: (healthy, reason) => driver.input({ kind: "health", healthy, reason }),
  });
  health.start();
  const unwatch = o.rules.watch?.((reason) => driver.input({ kind: "fault", reason }));
  // A drainstop ends as soon as no established connection is left (or at its timeout).
  const drainWatch = setInterval(async () => {
    if (driver.state.admin !== "draining" || !o.rules.established) return;
    const n = await o.rules.established().catch(() => -1);
    if (n === 0 && driver.state.admin === "draining") driver.input({ kind: "drained" });
  }, 500);

  let stopping: Promise<void> | undefined;
  return {
    driver,
    replication,
    panelFailed: panel?.failed ?? [],
    stop: () =>
      stopping ??= (async () => {
        clearInterval(prune);
        gc.stop();
        health.stop();
        unwatch?.();
        clearInterval(drainWatch);
        await panel?.stop();
        await replication.stop();
        await driver.stop();
        await Promise.allSettled([peerServer.shutdown(), controlServer.shutdown()]);
        o.peers.close();
        try {
          Deno.removeSync(sock);
        } catch { /* already gone */ }
      })(),
  };
}

/** Refuses to start beside a live agent; removes the socket a crashed one left behind. */
async function claimSocket(path: string, dir: string): Promise<void> {
  try {
    Deno.statSync(path);
  } catch {
    return;
  }
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    throw new Error(
      `an agent is already running for ${dir} (its socket ${path} answers): stop it first`,
    );
  } catch (e) {
    if (e instanceof Error && e.message.startsWith("an agent is already running")) throw e;
    Deno.removeSync(path);
  }
}
