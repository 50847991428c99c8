/**
 * `appliance passwd`: sets the admin password of this host's web panel. The password is
 * read from a file (or standard input with `-`), or typed twice at a terminal with echo
 * off; only its scrypt hash is stored (agent/security/password.ts). The running agent
 * reads the hash at each login, so the change takes effect at once and ends the
 * panel's sessions opened with the old password.
 */
import {
  cliActor,
  CliError,
  type Command,
  COMMON_HELP,
  parseFlags,
  printJson,
  UsageError,
} from "./cli.ts";
import { openState } from "./config_cmd.ts";
import { hashPassword } from "../security/password.ts";

export const MIN_PASSWORD = 8;

const HELP = `Usage: appliance passwd [--password-file F]

Sets the password of the admin panel on this host (each host keeps its own). Only an
scrypt hash of it is stored, in the state dir. Panel sessions opened with the old
password end at once.

Options:
  --password-file F  read the new password from file F, or from standard input with -
                     (its first line; at least ${MIN_PASSWORD} characters). Without it, the
                     password is asked twice at the terminal, without echo.

Examples:
  appliance passwd
  appliance passwd --password-file /root/panel-password

${COMMON_HELP}`;

export const passwdCommand: Command = {
  name: "passwd",
  summary: "set the admin panel's password on this host",
  help: HELP,
  async run(args) {
    const f = parseFlags(this, args, { "password-file": { type: "string" } });
    if (!f) return 0;
    const file = f.values["password-file"] as string | undefined;
    const password = file !== undefined ? await fromFile(file) : await fromTerminal();
    if (password.length < MIN_PASSWORD) {
      throw new CliError(
        `passwd: the password is ${password.length} characters long: use at least ${MIN_PASSWORD}`,
      );
    }
    const hash = await hashPassword(password);
    const state = openState(f.values["state-dir"] as string);
    try {
      const host = state.store.getIdentity()?.name ?? "local";
      const by = cliActor();
      state.store.setPasswordHash(hash);
      state.events.append({
        ts: Date.now(),
        host,
        level: "info",
        kind: "admin.password_changed",
        message: `the admin panel password was changed (by ${by})`,
        details: { by },
      });
    } finally {
      state.close();
    }
    if (f.values.json) printJson({ changed: true });
    else console.log("admin password changed; panel sessions opened with the old one have ended");
    return 0;
  },
};

/** The first line of `file` (or of standard input for "-"). */
async function fromFile(file: string): Promise<string> {
  let text: string;
  try {
    text = file === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(file);
  } catch (e) {
    throw new CliError(`passwd: cannot read --password-file ${file}: ${(e as Error).message}`);
  }
  return text.split(/\r?\n/)[0];
}

async function fromTerminal(): Promise<string> {
  if (!Deno.stdin.isTerminal()) {
    throw new UsageError(
      "passwd: standard input is not a terminal: give --password-file F (or - for stdin)",
    );
  }
  const first = await prompt("New admin password: ");
  const again = await prompt("Again: ");
  if (first !== again) throw new CliError("passwd: the two passwords differ; nothing changed");
  return first;
}

/** Reads one line from the terminal with echo off (raw mode); Ctrl-C cancels. */
async function prompt(label: string): Promise<string> {
  const enc = new TextEncoder();
  await Deno.stdout.write(enc.encode(label));
  const bytes: number[] = [];
  const buf = new Uint8Array(1);
  Deno.stdin.setRaw(true);
  try {
    while ((await Deno.stdin.read(buf)) !== null) {
      const b = buf[0];
      if (b === 3) throw new CliError("passwd: cancelled; nothing changed");
      if (b === 13 || b === 10) break;
      if (b === 127 || b === 8) {
        // Drop one character: its UTF-8 continuation bytes, then its first byte.
        while (bytes.length && (bytes.at(-1)! & 0xc0) === 0x80) bytes.pop();
        bytes.pop();
        continue;
      }
      bytes.push(b);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stdout.write(enc.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
