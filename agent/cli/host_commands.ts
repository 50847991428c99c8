/**
 * `appliance drainstop|stop|start|suspend|resume [--host H]`: membership state changes on
 * the local host or, with --host, on any member through the peer API.
 */
import { cliActor, type Command, COMMON_HELP, parseFlags, printJson } from "./cli.ts";
import { callAgent } from "../control/control_client.ts";
import type { AdminCommand } from "../cluster/effects.ts";

const WHAT: Record<Exclude<AdminCommand, "leave">, string> = {
  drainstop:
    "stop taking new connections, let established ones finish (up to the drain timeout), then stop",
  stop: "stop handling cluster traffic at once; the other hosts take this host's share",
  start: "resume handling cluster traffic after stop or drainstop",
  suspend: "stop handling traffic and ignore every command but resume",
  resume: "leave the suspended state and handle traffic again",
};

export function hostCommand(command: Exclude<AdminCommand, "leave">): Command {
  return {
    name: command,
    summary: WHAT[command],
    help: `Usage: appliance ${command} [--host H] [--json]

${WHAT[command][0].toUpperCase()}${WHAT[command].slice(1)}.

Options:
  --host H   the host to act on, by name or id (default: this host)
${COMMON_HELP}`,
    async run(args) {
      const f = parseFlags(this, args, { host: { type: "string" } });
      if (!f) return 0;
      const r = await callAgent<{ ok: boolean; host: string }>(
        f.values["state-dir"] as string,
        "POST",
        "/command",
        { command, host: f.values.host, by: cliActor() },
      );
      if (f.values.json) printJson(r);
      else console.log(`${command}: done on host "${r.host}"`);
      return 0;
    },
  };
}
