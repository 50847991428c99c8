/**
 * `appliance token create`: a single-use join token, pinned to this cluster's CA, and the
 * `appliance join` command that uses it on the new host. The token's secret is printed
 * once and never stored: this host keeps only its hash (see agent/security/token.ts).
 */
import { CliError, type Command, COMMON_HELP, parseFlags, printJson, UsageError } from "./cli.ts";
import { dispatch, openState, readConfig } from "./config_cmd.ts";
import { certFingerprint } from "../security/cert_fingerprint.ts";
import { createToken, parseDuration } from "../security/token.ts";

const DEFAULT_TTL = "1h";

const HELP = `Usage:
  appliance token create [--ttl D] [--json]

Creates a single-use token that lets a new host join the cluster through this host,
and prints the \`appliance join\` command to run on the new host. The token also pins
the cluster CA, so the new host can trust this one before it holds the CA.

Options:
  --ttl D   how long the token stays valid: a duration such as 30m, 1h, 2d or 1h30m
            (units ms, s, m, h, d) (default ${DEFAULT_TTL})

Examples:
  appliance token create
  appliance token create --ttl 15m --json

${COMMON_HELP}`;

const GROUP = { name: "token", help: HELP };

function create(args: string[]): number {
  const f = parseFlags({ name: "token create", help: HELP }, args, {
    ttl: { type: "string", default: DEFAULT_TTL },
  });
  if (!f) return 0;
  const ttl = String(f.values.ttl);
  const ttlMs = parseDuration(ttl);
  if (ttlMs === undefined || ttlMs <= 0) {
    throw new UsageError(
      `token create: --ttl must be a duration such as 30m, 1h, 2d or 1h30m ` +
        `(units ms, s, m, h, d), got "${ttl}"`,
    );
  }
  const state = openState(f.values["state-dir"] as string);
  try {
    const config = readConfig(state);
    const identity = state.store.getIdentity();
    const caCert = state.store.getSecret("ca_cert");
    if (!identity || !caCert) {
      throw new CliError(
        `token create: ${state.dir} holds no cluster membership (no identity or CA): ` +
          "run it on a member, or `appliance init` first",
      );
    }
    const now = Date.now();
    const { token, record } = createToken({ caFingerprint: certFingerprint(caCert), now, ttlMs });
    state.store.addToken(record);
    const expires = new Date(record.expiresAt).toISOString();
    if (f.values.json) {
      printJson({ token, expiresAt: expires });
      return 0;
    }
    const url = `https://${identity.address}:${config.peerPort}`;
    console.log(`join token (single use, valid until ${expires}):\n${token}\n`);
    console.log("On the new host, run:");
    console.log(`  appliance join ${url} --token ${token} --interface ${identity.interface}`);
    console.log(
      `(with the new host's cluster interface in place of ${identity.interface} if its name differs)`,
    );
    return 0;
  } finally {
    state.close();
  }
}

export const tokenCommand: Command = {
  name: "token",
  summary: "create a join token for a new host",
  help: HELP,
  run: (args) => dispatch(GROUP, { create }, args),
};
