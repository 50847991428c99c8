/**
 * /api/hosts/:name/:command (POST): drainstop, stop, start, suspend or resume any member;
 * the agent forwards a command for another host through the peer API.
 */
import { Hono } from "hono";
import { HOST_COMMANDS, type HostCommand, type PanelDeps } from "../deps.ts";
import { clientIp, HttpError, oneOf, type PanelEnv } from "./_http.ts";
import { ADMIN } from "./session_api.ts";

export function hostsApi(deps: PanelDeps): Hono<PanelEnv> {
  const app = new Hono<PanelEnv>();
  app.post("/:name/:command", async (c) => {
    const { name, command } = c.req.param();
    if (!HOST_COMMANDS.includes(command as HostCommand)) {
      throw new HttpError(400, `unknown host command "${command}": use ${oneOf(HOST_COMMANDS)}`);
    }
    const hosts = deps.status().hosts;
    const host = hosts.find((h) => h.name === name);
    if (!host) {
      throw new HttpError(
        404,
        `no host named "${name}" in the cluster: the hosts are ${
          hosts.map((h) => h.name).join(", ") || "(none)"
        }`,
      );
    }
    const from = clientIp(c);
    try {
      await deps.command(host.name, command as HostCommand, `panel:${ADMIN}@${from}`);
    } catch (e) {
      const why = (e as Error).message;
      deps.logAction(ADMIN, from, `${command} on host "${host.name}" refused: ${why}`);
      throw new HttpError(409, `${command} on "${host.name}" refused: ${why}`);
    }
    deps.logAction(ADMIN, from, `${command} on host "${host.name}"`);
    return c.json({ ok: true, host: host.name, command });
  });
  return app;
}
