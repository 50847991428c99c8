/**
 * The CLI's small framework: commands, flag parsing with usage errors, output helpers.
 * Exit codes: 0 ok, 1 failed, 2 usage.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { DEFAULT_STATE_DIR } from "../state_dir.ts";

export class UsageError extends Error {}

/** An error the user can act on: printed as is, exit 1, never a stack trace. */
export class CliError extends Error {}

export interface Command {
  name: string;
  summary: string;
  /** Full help text: usage line, description, options, examples. */
  help: string;
  run(args: string[]): Promise<number>;
}

export const COMMON_OPTIONS = {
  "state-dir": { type: "string", default: DEFAULT_STATE_DIR },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

export const COMMON_HELP = `Common options:
  --state-dir DIR   where this host keeps its state (default ${DEFAULT_STATE_DIR})
  --json            machine-readable output
  -h, --help        this help`;

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses flags strictly; an unknown flag, a missing value or a stray argument becomes a
 * UsageError naming it. Returns undefined after printing help when --help was given.
 */
export interface Flags {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseFlags(
  cmd: Pick<Command, "name" | "help">,
  args: string[],
  options: Options,
  positionals = 0,
): Flags | undefined {
  let parsed: Flags;
  try {
    parsed = parseArgs({
      args,
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    }) as Flags;
  } catch (e) {
    throw new UsageError(`${cmd.name}: ${cleanParseError((e as Error).message)}`);
  }
  if (parsed.values.help) {
    console.log(cmd.help);
    return undefined;
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`${cmd.name}: unexpected argument "${parsed.positionals[positionals]}"`);
  }
  return parsed;
}

function cleanParseError(msg: string): string {
  return msg.replace(/\. To specify a positional argument.*$/s, "").replace(
    /^Unknown option/,
    "unknown option",
  );
}

/** Who runs this command, for the event log: "cli:" and the (sudo) user's name. */
export function cliActor(): string {
  return `cli:${Deno.env.get("SUDO_USER") ?? Deno.env.get("USER") ?? "unknown"}`;
}

export function requireFlag(cmd: string, value: unknown, flag: string, hint: string): string {
  if (typeof value !== "string" || value === "") {
    throw new UsageError(`${cmd}: ${flag} is required (${hint})`);
  }
  return value;
}

export function intFlag(
  cmd: string,
  value: unknown,
  flag: string,
  lo: number,
  hi: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    throw new UsageError(`${cmd}: ${flag} must be an integer from ${lo} to ${hi}, got "${value}"`);
  }
  return n;
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Fixed-width table for human output. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (c ?? "").padEnd(widths[i])).join("  ").trimEnd()).join(
    "\n",
  );
}
