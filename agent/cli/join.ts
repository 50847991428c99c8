/** `appliance join URL --token T`: become a member of an existing cluster. */
import {
  CliError,
  type Command,
  COMMON_HELP,
  intFlag,
  parseFlags,
  printJson,
  requireFlag,
  UsageError,
} from "./cli.ts";
import { dbPath, openStateDir } from "../state_dir.ts";
import { pickAddress } from "../net_interface.ts";
import { parseToken } from "../security/token.ts";
import type { JoinGrant } from "../peer/join.ts";
import { exists } from "./init.ts";

const HELP = `Usage: appliance join URL --token T --interface IF [options]

Joins the cluster whose member answers at URL (printed by \`appliance init\` or
\`appliance token create\`). The token is single-use, expires, and pins the cluster's CA:
the join is refused if the member's CA does not match it.

Options:
  --token T            a join token (required)
  --interface IF       the cluster network interface (required)
  --address A          this host's own address on IF (default: IF's first IPv4)
  --name NAME          this host's name, unique in the cluster (default: the hostname)
  --priority N         1..32, unique in the cluster (default: the lowest free one)
  --weight W           load weight 0..100 (default 50)
${COMMON_HELP}

Example:
  appliance join https://198.18.0.1:7947 --token apl1.… --interface eth1`;

export const joinCommand: Command = {
  name: "join",
  summary: "join an existing cluster with a token",
  help: HELP,
  async run(args) {
    const f = parseFlags(this, args, {
      token: { type: "string" },
      interface: { type: "string" },
      address: { type: "string" },
      name: { type: "string" },
      priority: { type: "string" },
      weight: { type: "string" },
    }, 1);
    if (!f) return 0;
    const v = f.values;
    const url = f.positionals[0];
    if (!url) {
      throw new UsageError(
        "join: the member's URL is required, e.g. appliance join https://198.18.0.1:7947 --token …",
      );
    }
    let base: URL;
    try {
      base = new URL(url);
    } catch {
      throw new UsageError(`join: "${url}" is not a URL; expected https://ADDRESS:PORT`);
    }
    if (base.protocol !== "https:") {
      throw new UsageError(`join: the URL must start with https:// (got ${base.protocol})`);
    }
    const tokenText = requireFlag(
      "join",
      v.token,
      "--token",
      "create one on a member with `appliance token create`",
    );
    const iface = requireFlag(
      "join",
      v.interface,
      "--interface",
      "the cluster network interface, e.g. --interface eth1",
    );
    const priority = intFlag("join", v.priority, "--priority", 1, 32);
    const weight = intFlag("join", v.weight, "--weight", 0, 100);
    const token = parseToken(tokenText);
    if (!token.ok) throw new CliError(`join: ${token.reason}`);
    const name = (v.name as string | undefined) ?? Deno.hostname();
    let address: string;
    try {
      address = pickAddress(iface, v.address as string | undefined);
    } catch (e) {
      throw new CliError(`join: ${(e as Error).message}`);
    }
    const dir = v["state-dir"] as string;
    if (exists(dbPath(dir))) {
      throw new CliError(
        `join: ${dir} already holds a cluster membership; nothing was changed (use another --state-dir)`,
      );
    }
    const origin = base.origin;
    let caPem: string;
    const { fetchPinnedCa } = await import("../security/pinned_ca.ts");
    try {
      caPem = await fetchPinnedCa(origin, token.caFingerprint);
    } catch (e) {
      throw new CliError(`join: ${(e as Error).message}`);
    }
    const client = Deno.createHttpClient({ caCerts: [caPem] });
    let grant: JoinGrant;
    try {
      const res = await fetch(`${origin}/peer/v1/join`, {
        method: "POST",
        client,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          tokenId: token.id,
          secret: token.secret,
          name,
          address,
          priority,
          weight,
        }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = await res.json().catch(() => ({}));
      if (!res.ok) {
        throw new CliError(`join refused by ${origin}: ${body.error ?? `HTTP ${res.status}`}`);
      }
      grant = body as JoinGrant;
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(`join: cannot reach ${origin}: ${(e as Error).message}`);
    } finally {
      client.close();
    }
    const state = openStateDir(dir, { create: true });
    try {
      state.store.setIdentity({ hostId: grant.hostId, name, interface: iface, address });
      state.store.setSecret("cluster_key", grant.clusterKey);
      state.store.setSecret("ca_cert", grant.caCert);
      state.store.setSecret("ca_key", grant.caKey);
      state.store.setSecret("host_cert", grant.hostCert);
      state.store.setSecret("host_key", grant.hostKey);
      state.store.saveConfig(grant.config, grant.config.version);
      state.events.append({
        ts: Date.now(),
        host: name,
        level: "info",
        kind: "cluster.joined",
        message: `joined cluster ${grant.config.clusterId} through ${origin}`,
      });
    } finally {
      state.close();
    }
    const me = grant.config.hosts.find((h) => h.id === grant.hostId)!;
    if (v.json) {
      printJson({
        hostId: grant.hostId,
        name,
        priority: me.priority,
        clusterId: grant.config.clusterId,
      });
    } else {
      console.log(
        `Joined cluster ${grant.config.clusterId} as "${name}" (priority ${me.priority}, ${address}).`,
      );
      console.log(`Start the agent:\n  appliance run --state-dir ${dir}`);
    }
    return 0;
  },
};
