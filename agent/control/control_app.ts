/**
 * The control API the CLI speaks to over the agent's unix socket. Commands for another
 * host travel on through the peer API.
 */
import { Hono } from "hono";
import type { ClusterConfig } from "../cluster/config.ts";
import type { AdminCommand } from "../cluster/effects.ts";
import type { ClusterStatus } from "../cluster/status.ts";
import type { ReplicationOps } from "../replication/cluster_replication.ts";
import { parseReplicationCommand, REPLICATION_COMMAND_USAGE } from "../peer/replication_routes.ts";

export interface ControlAgent {
  status(): ClusterStatus;
  stats(): Record<string, unknown>;
  command(command: AdminCommand, by: string): string | undefined;
  /** Re-reads the latest config from the store; publishes it if newer. */
  reloadConfig(): Promise<{ version: number; pushed: string[]; failed: string[] }>;
  /** A signed request to another member's peer API. */
  peerRequest<T>(address: string, method: string, path: string, body?: unknown): Promise<T>;
  replication: ReplicationOps;
}

const COMMANDS: AdminCommand[] = ["drainstop", "stop", "start", "suspend", "resume"];

export function createControlApp(agent: ControlAgent): Hono {
  const app = new Hono();
  app.onError((err, c) => c.json({ error: err.message }, 502));
  app.notFound((c) => c.json({ error: `no such control endpoint: ${c.req.path}` }, 404));

  app.get("/status", (c) => c.json(agent.status()));
  app.get("/stats", (c) => c.json(agent.stats()));

  app.post("/command", async (c) => {
    const b = await c.req.json().catch(() => ({})) as {
      command?: AdminCommand;
      host?: string;
      by?: string;
    };
    if (!b.command || !COMMANDS.includes(b.command)) {
      return c.json({ error: `command must be one of ${COMMANDS.join(", ")}` }, 400);
    }
    const by = b.by ?? "cli";
    const status = agent.status();
    const target = b.host
      ? status.hosts.find((h) => h.name === b.host || String(h.id) === b.host)
      : undefined;
    if (b.host && !target) {
      return c.json(
        { error: `no host named "${b.host}" in the cluster (see: appliance status)` },
        404,
      );
    }
    if (!target || target.self) {
      const err = agent.command(b.command, by);
      return err
        ? c.json({ error: err }, 409)
        : c.json({ ok: true, host: status.hosts.find((h) => h.self)?.name });
    }
    await agent.peerRequest(target.address, "POST", "/peer/v1/command", { command: b.command, by });
    return c.json({ ok: true, host: target.name });
  });

  app.get("/replication/status", async (c) => c.json(await agent.replication.status()));
  app.post("/replication/command", async (c) => {
    const b = await c.req.json().catch(() => ({})) as Record<string, unknown>;
    const cmd = parseReplicationCommand(b);
    if (!cmd) return c.json({ error: REPLICATION_COMMAND_USAGE }, 400);
    try {
      return c.json(await agent.replication.command(cmd, String(b.by ?? "cli")));
    } catch (e) {
      return c.json({ error: (e as Error).message }, 409);
    }
  });

  app.post("/config/reload", async (c) => c.json(await agent.reloadConfig()));

  app.get("/events", async (c) => {
    const host = c.req.query("host");
    const target = agent.status().hosts.find((h) => h.name === host || String(h.id) === host);
    if (!target) {
      return c.json(
        { error: `no host named "${host}" in the cluster (see: appliance status)` },
        404,
      );
    }
    const qs = new URLSearchParams(c.req.query());
    qs.delete("host");
    return c.json(await agent.peerRequest(target.address, "GET", `/peer/v1/events?${qs}`));
  });
  return app;
}

export type { ClusterConfig };
