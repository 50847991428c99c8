/**
 * `appliance replication status|now|rollback|exporter`: the content every host serves.
 * status, now and rollback ask the running agent (which forwards commands to the
 * exporter); exporter is a config edit, pushed to every member like any other.
 */
import {
  cliActor,
  CliError,
  type Command,
  COMMON_HELP,
  parseFlags,
  printJson,
  requireFlag,
  table,
  UsageError,
} from "./cli.ts";
import { applyEdit, dispatch } from "./config_cmd.ts";
import { callAgent } from "../control/control_client.ts";
import { setExporter } from "../config_edit.ts";
import { formatBytes, type ReplicationStatus } from "../replication/status.ts";
import { sourceDirProblem } from "../cluster/replication_settings.ts";

const HELP = `Usage:
  appliance replication status [--json]
  appliance replication now [--confirm] [--no-wait] [--json]
  appliance replication rollback GEN [--no-wait] [--json]
  appliance replication exporter HOST --source DIR

Directory replication: one host (the exporter) watches its source directory; every host
serves a published copy at STATE-DIR/content/current, a symlink swapped atomically when
the whole cluster has the next generation staged. Point the web server there.

  status     each host's generation, state, lag, bytes still to fetch and last error
  now        rescan the source and publish at once (also ends a hold after a rollback);
             --confirm publishes a generation held because it deletes too many files
  rollback   re-publish kept generation GEN as a new generation; publishing from the
             source is then held until \`replication now\`
  exporter   make HOST the exporter of DIR (an absolute path on HOST)

now and rollback wait until every reachable host serves the new generation, showing
progress (--no-wait returns at once).

Settings (appliance config set replication.KEY=VALUE): stabilizeMs (2s), keep (5),
consistency (relaxed|strict), massDeletePercent (50), stageTimeoutMs (60s),
verifyIntervalMs (1h).

${COMMON_HELP}`;

const GROUP = { name: "replication", help: HELP };
const WAIT_MS = 10 * 60_000;

async function status(args: string[]): Promise<number> {
  const f = parseFlags({ name: "replication status", help: HELP }, args, {});
  if (!f) return 0;
  const s = await callAgent<ReplicationStatus>(
    f.values["state-dir"] as string,
    "GET",
    "/replication/status",
  );
  if (f.values.json) {
    // published_path: the name the docs (and scripts) use for where a web server points.
    printJson({ ...s, hosts: s.hosts.map((h) => ({ ...h, published_path: h.publishedPath })) });
    return 0;
  }
  console.log(formatStatus(s));
  return 0;
}

export function formatStatus(s: ReplicationStatus): string {
  if (!s.enabled) {
    return "replication is off: choose an exporter with " +
      "`appliance replication exporter HOST --source DIR`";
  }
  const lines = [
    `exporter ${s.exporter?.name} (${s.exporter?.source}), generation offered ${s.offered}, ` +
    `committed ${s.committed}, consistency ${s.consistency}`,
  ];
  if (s.pending) {
    lines.push(
      `HELD: generation ${s.pending.gen}: ${s.pending.reason} (appliance replication now --confirm)`,
    );
  }
  lines.push(
    "",
    table([
      ["HOST", "ROLE", "GEN", "STAGED", "STATE", "LAG", "TO FETCH", "ERROR"],
      ...s.hosts.map((h) => [
        h.name,
        h.role,
        String(h.generation),
        String(h.staged),
        h.state,
        h.lagGens ? `${h.lagGens} gen, ${((h.lagMs ?? 0) / 1000).toFixed(1)} s` : "-",
        h.bytesToGo || h.objectsToGo ? `${formatBytes(h.bytesToGo)} / ${h.objectsToGo} obj` : "-",
        h.lastError ?? "",
      ]),
    ]),
  );
  const path = s.hosts.find((h) => h.publishedPath)?.publishedPath;
  if (path) lines.push("", `published path (serve this): ${path}`);
  return lines.join("\n");
}

async function now(args: string[]): Promise<number> {
  const f = parseFlags({ name: "replication now", help: HELP }, args, {
    confirm: { type: "boolean", default: false },
    "no-wait": { type: "boolean", default: false },
  });
  if (!f) return 0;
  return await command(f.values, { command: "now", confirm: f.values.confirm === true });
}

async function rollback(args: string[]): Promise<number> {
  const f = parseFlags({ name: "replication rollback", help: HELP }, args, {
    "no-wait": { type: "boolean", default: false },
  }, 1);
  if (!f) return 0;
  const gen = Number(f.positionals[0]);
  if (!Number.isInteger(gen) || gen < 1) {
    throw new UsageError(
      "replication rollback: give the generation to roll back to, e.g. `appliance replication " +
        "rollback 7` (see: appliance replication status --json, history)",
    );
  }
  return await command(f.values, { command: "rollback", gen });
}

async function command(
  v: Record<string, unknown>,
  body: Record<string, unknown>,
): Promise<number> {
  const dir = v["state-dir"] as string;
  const r = await callAgent<{ message: string; gen?: number }>(
    dir,
    "POST",
    "/replication/command",
    { ...body, by: cliActor() },
    WAIT_MS,
  );
  if (!v.json) console.log(r.message);
  if (r.gen === undefined || v["no-wait"]) {
    if (v.json) printJson(r);
    return 0;
  }
  const s = await waitServed(dir, r.gen, !v.json);
  if (v.json) printJson({ ...r, status: s });
  return 0;
}

/** Polls the status until every reachable host serves `gen`, printing progress lines. */
async function waitServed(dir: string, gen: number, print: boolean): Promise<ReplicationStatus> {
  const deadline = Date.now() + WAIT_MS;
  let last = "";
  for (;;) {
    const s = await callAgent<ReplicationStatus>(dir, "GET", "/replication/status");
    const live = s.hosts.filter((h) => h.state !== "unreachable");
    const behind = live.filter((h) => h.generation < gen);
    const failed = behind.filter((h) => h.state === "error");
    const line = behind.length === 0
      ? `generation ${gen} is served by ${live.length} host(s)`
      : `waiting for ${
        behind.map((h) =>
          `${h.name} (${h.state}${h.bytesToGo ? `, ${formatBytes(h.bytesToGo)} to go` : ""})`
        ).join(", ")
      }`;
    if (print && line !== last) console.log(line);
    last = line;
    if (behind.length === 0) return s;
    if (failed.length === behind.length && s.committed >= gen) {
      throw new CliError(
        `generation ${gen} is served, except by ${
          failed.map((h) => `${h.name}: ${h.lastError}`).join("; ")
        }`,
      );
    }
    if (Date.now() > deadline) {
      throw new CliError(
        `gave up waiting for generation ${gen} after ${WAIT_MS / 60_000} min: ${line}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function exporter(args: string[]): Promise<number> {
  const f = parseFlags({ name: "replication exporter", help: HELP }, args, {
    source: { type: "string" },
  }, 1);
  if (!f) return 0;
  const host = f.positionals[0];
  if (!host) {
    throw new UsageError(
      "replication exporter: name the host, e.g. `appliance replication exporter web1 --source /srv/www`",
    );
  }
  const source = requireFlag(
    "replication exporter",
    f.values.source,
    "--source DIR",
    "the directory editors write to on that host",
  );
  checkSourceDir("replication exporter", source, false);
  return await applyEdit(
    "replication exporter",
    f.values["state-dir"] as string,
    f.values.json === true,
    (c) => setExporter(c, host, source),
  );
}

/**
 * A source must pass the config's rule (sourceDirProblem); when it is on this host
 * (`local`), it must be a readable directory too.
 */
export function checkSourceDir(cmd: string, dir: string, local = true): void {
  const problem = sourceDirProblem(dir);
  if (problem) throw new UsageError(`${cmd}: the content ${problem}`);
  if (!local) return;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (e) {
    throw new CliError(
      `${cmd}: cannot use ${dir} as the content source: ${(e as Error).message} (create it first)`,
    );
  }
  if (!info.isDirectory) throw new CliError(`${cmd}: the content source ${dir} is not a directory`);
}

export const replicationCommand: Command = {
  name: "replication",
  summary: "directory replication: status, publish now, rollback, exporter",
  help: HELP,
  run: (args) => dispatch(GROUP, { status, now, rollback, exporter }, args),
};
