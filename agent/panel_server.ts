/**
 * The admin panel inside the agent: PanelDeps built from the driver, the state store and
 * the peer client, served on each listen address — plain HTTP on loopback, HTTPS with the
 * host's cluster certificate anywhere else.
 */
import { createApp } from "../web/app.ts";
import type { Assets, PanelDeps } from "../web/deps.ts";
import type { Driver } from "./driver.ts";
import type { Membership, StateDir } from "./state_dir.ts";
import type { HttpsPeerClient } from "./adapters/https_peer_client.ts";
import { collectTraffic, type Counters, sharedInFlight } from "../web/traffic.ts";
import { setExporter } from "./config_edit.ts";
import type { ReplicationOps } from "./replication/cluster_replication.ts";

export type PanelListen = { hostname: string; port: number } | { path: string };

/**
 * Parses `--panel`: "off", or comma-separated ADDR:PORT ("@" stands for the host's address)
 * or unix:PATH (a socket, e.g. for a forwarder from another network namespace).
 */
export function parsePanelListen(spec: string, hostAddress: string): PanelListen[] | string {
  if (spec === "off") return [];
  const out: PanelListen[] = [];
  for (const part of spec.split(",")) {
    if (part.trim().startsWith("unix:")) {
      const path = part.trim().slice(5);
      if (!path.startsWith("/")) {
        return `"${part}" needs an absolute path: unix:/run/appliance/panel.sock`;
      }
      out.push({ path });
      continue;
    }
    const m = /^(.+):(\d{1,5})$/.exec(part.trim());
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      return `"${part}" is not ADDRESS:PORT (e.g. 127.0.0.1:8080)`;
    }
    out.push({ hostname: m[1] === "@" ? hostAddress : m[1], port });
  }
  return out;
}

export interface RunningPanel {
  stop(): Promise<void>;
  /** Listen addresses that failed, with the reason (the agent runs on without them). */
  failed: string[];
}

export function startPanel(
  listen: PanelListen[],
  ctx: {
    driver: Driver;
    state: StateDir;
    membership: Membership;
    peers: HttpsPeerClient;
    assets: Assets;
    /** This host's dataplane counters (RuleApplier.traffic); absent without a dataplane. */
    traffic?: () => Promise<Counters>;
    /** The cluster's replication, as agent.ts builds it for the control API. */
    replication?: ReplicationOps;
  },
): RunningPanel {
  const { driver, state, membership: m, peers } = ctx;
  const shutdown = new AbortController();
  const host = (name: string) => {
    const h = driver.status().hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host named "${name}" in the cluster`);
    return h;
  };
  const base: Omit<PanelDeps, "secure"> = {
    status: () => driver.status(),
    bucketOwners: () => driver.state.view.maps,
    command: async (name, command, by) => {
      const t = host(name);
      if (t.self) {
        const err = driver.command(command, by);
        if (err) throw new Error(err);
      } else await peers.request(t.address, "POST", "/peer/v1/command", { command, by });
    },
    events: state.events,
    remoteEvents: (name, q) => {
      const qs = new URLSearchParams(
        Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]),
      );
      return peers.request(host(name).address, "GET", `/peer/v1/events?${qs}`);
    },
    rules: () => driver.state.config.rules,
    traffic: sharedInFlight(() =>
      collectTraffic(
        driver.status().hosts,
        (h) =>
          h.self
            ? ctx.traffic?.() ?? Promise.resolve({})
            : peers.request<Counters>(h.address, "GET", "/peer/v1/traffic"),
      )
    ),
    editConfig: async (edit) => {
      const current = driver.state.config;
      const next = edit(current);
      if (Array.isArray(next) || next.version === current.version) {
        return { version: current.version };
      }
      await driver.publishConfig(next);
      return { version: driver.state.config.version };
    },
    onChange: (fn) => driver.onChange(fn),
    passwordHash: () => state.store.getPasswordHash(),
    now: () => Date.now(),
    logAction: (who, from, message) =>
      state.events.append({
        ts: Date.now(),
        host: m.identity.name,
        level: "info",
        kind: "admin.action",
        message: `${who} from ${from}: ${message}`,
        details: { who, from },
      }),
    assets: ctx.assets,
    shutdown: shutdown.signal,
  };
  const repl = ctx.replication;
  if (repl) {
    base.replication = {
      status: () => repl.status(),
      now: (confirm, by) => repl.command({ command: "now", confirm }, by),
      rollback: async (gen, by) => {
        const r = await repl.command({ command: "rollback", gen }, by);
        return { gen: r.gen ?? gen, message: r.message };
      },
      setExporter: async (name, source, by) => {
        let problems: string[] = [];
        const r = await base.editConfig((c) => {
          const e = setExporter(c, name, source);
          if (!e.ok) return problems = e.problems;
          return e.config;
        }, by);
        if (problems.length) throw new Error(problems.join("; "));
        return { message: `${name} exports ${source} (config version ${r.version})` };
      },
    };
  }
  const servers: Deno.HttpServer[] = [];
  const failed: string[] = [];
  for (const l of listen) {
    try {
      if ("path" in l) {
        try {
          Deno.removeSync(l.path);
        } catch { /* none left over */ }
        const app = createApp({ ...base, secure: false });
        servers.push(
          Deno.serve({ transport: "unix", path: l.path, onListen: () => {} }, app.fetch),
        );
        Deno.chmodSync(l.path, 0o600);
        continue;
      }
      const loopback = l.hostname.startsWith("127.") || l.hostname === "localhost";
      const app = createApp({ ...base, secure: !loopback });
      servers.push(Deno.serve(
        {
          hostname: l.hostname,
          port: l.port,
          onListen: () => {},
          ...(loopback ? {} : { cert: m.hostCert, key: m.hostKey }),
        },
        app.fetch,
      ));
    } catch (e) {
      failed.push(
        `${"path" in l ? `unix:${l.path}` : `${l.hostname}:${l.port}`}: ${(e as Error).message}`,
      );
    }
  }
  return {
    failed,
    stop: async () => {
      shutdown.abort();
      await Promise.allSettled(servers.map((s) => s.shutdown()));
    },
  };
}
