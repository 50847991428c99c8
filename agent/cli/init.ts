/** `appliance init`: create a cluster with this host as its first member. */
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
import { defaultConfig, isIPv4 } from "../cluster/config.ts";
import { DEFAULT_REPLICATION } from "../cluster/replication_settings.ts";
import { checkSourceDir } from "./replication_cmd.ts";
import { b64, dbPath, openStateDir } from "../state_dir.ts";
import { pickAddress } from "../net_interface.ts";
import { certFingerprint } from "../security/cert_fingerprint.ts";
import { randomHex, randomHostId } from "../security/random_id.ts";
import { hashPassword } from "../security/password.ts";
import { createToken, parseDuration } from "../security/token.ts";

const HELP = `Usage: appliance init --cluster-ip IP --interface IF [options]

Creates a new cluster with this host as its first member (priority 1): a cluster id and
secret key, a cluster CA and this host's certificate, and the cluster config. Prints the
command that joins other hosts.

Options:
  --cluster-ip IP             the shared address clients connect to (required)
  --interface IF              the cluster network interface, e.g. eth1 (required)
  --address A                 this host's own address on IF (default: IF's first IPv4)
  --name NAME                 this host's name (default: the hostname)
  --mode shared|failover      shared: every host takes a share (default); failover: one owner
  --weight W                  this host's load weight 0..100 (default 50)
  --admin-password-file F     the admin panel password, read from F (default: a random one,
                              printed once)
  --token-ttl D               lifetime of the printed join token (default 1h)
  --content-source DIR        replicate DIR (where editors write) to every host, with this
                              host as the exporter; each host serves its published copy at
                              STATE-DIR/content/current (see: appliance replication --help)
${COMMON_HELP}

Example:
  appliance init --cluster-ip 198.18.0.100 --interface eth1`;

export const initCommand: Command = {
  name: "init",
  summary: "create a cluster with this host as its first member",
  help: HELP,
  async run(args) {
    const f = parseFlags(this, args, {
      "cluster-ip": { type: "string" },
      interface: { type: "string" },
      address: { type: "string" },
      name: { type: "string" },
      mode: { type: "string", default: "shared" },
      weight: { type: "string" },
      "admin-password-file": { type: "string" },
      "token-ttl": { type: "string", default: "1h" },
      "content-source": { type: "string" },
    });
    if (!f) return 0;
    const v = f.values;
    const clusterIp = requireFlag(
      "init",
      v["cluster-ip"],
      "--cluster-ip",
      "the shared address, e.g. --cluster-ip 198.18.0.100",
    );
    if (!isIPv4(clusterIp)) {
      throw new UsageError(`init: --cluster-ip "${clusterIp}" is not an IPv4 address`);
    }
    const iface = requireFlag(
      "init",
      v.interface,
      "--interface",
      "the cluster network interface, e.g. --interface eth1",
    );
    const mode = v.mode as string;
    if (mode !== "shared" && mode !== "failover") {
      throw new UsageError(`init: --mode must be shared or failover, got "${mode}"`);
    }
    const weight = intFlag("init", v.weight, "--weight", 0, 100) ?? 50;
    const ttl = parseDuration(v["token-ttl"] as string);
    if (ttl === undefined) {
      throw new UsageError(
        `init: --token-ttl "${v["token-ttl"]}" is not a duration like 30m, 1h or 2d`,
      );
    }
    const name = (v.name as string | undefined) ?? Deno.hostname();
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
      throw new UsageError(
        `init: --name "${name}" must be 1-63 letters, digits, . _ - (starting with a letter or digit)`,
      );
    }
    let address: string;
    try {
      address = pickAddress(iface, v.address as string | undefined);
    } catch (e) {
      throw new CliError(`init: ${(e as Error).message}`);
    }
    const source = v["content-source"] as string | undefined;
    if (source !== undefined) checkSourceDir("init", source);
    const password = await readPassword(v["admin-password-file"] as string | undefined);
    const dir = v["state-dir"] as string;
    if (exists(dbPath(dir))) {
      throw new CliError(
        `init: ${dir} already holds a cluster membership (${dbPath(dir)}); nothing was changed. ` +
          "To start over, move that directory aside, or pass another --state-dir",
      );
    }

    // The X.509 library is loaded only by the commands that make certificates.
    const { createCa, issueHostCert } = await import("../security/ca.ts");
    const clusterId = randomHex(8);
    const key = crypto.getRandomValues(new Uint8Array(32));
    const ca = await createCa(clusterId);
    const cert = await issueHostCert(ca, { name, ips: [address] });
    const hostId = randomHostId();
    const config = defaultConfig({ clusterId, clusterIp, mode });
    config.hosts.push({ id: hostId, name, address, priority: 1, weight });
    if (source !== undefined) {
      config.replication = { ...DEFAULT_REPLICATION, exporter: hostId, source };
    }

    const state = openStateDir(dir, { create: true });
    try {
      state.store.setIdentity({ hostId, name, interface: iface, address });
      state.store.setSecret("cluster_key", b64(key));
      state.store.setSecret("ca_cert", ca.certPem);
      state.store.setSecret("ca_key", ca.keyPem);
      state.store.setSecret("host_cert", cert.certPem);
      state.store.setSecret("host_key", cert.keyPem);
      state.store.setPasswordHash(await hashPassword(password.value));
      state.store.saveConfig(config, config.version);
      const now = Date.now();
      const { token, record } = createToken({
        caFingerprint: certFingerprint(ca.certPem),
        now,
        ttlMs: ttl,
      });
      state.store.addToken(record);
      state.events.append({
        ts: now,
        host: name,
        level: "info",
        kind: "cluster.created",
        message: `cluster ${clusterId} created with cluster IP ${clusterIp} (${mode} mode)`,
      });
      const url = `https://${address}:${config.peerPort}`;
      if (v.json) {
        printJson({ url, token, ...(password.generated ? { adminPassword: password.value } : {}) });
      } else {
        console.log(
          `Cluster ${clusterId} created: cluster IP ${clusterIp}, ${mode} mode, host "${name}" (${address}).`,
        );
        if (password.generated) console.log(`Admin password (shown once): ${password.value}`);
        console.log(`\nStart the agent:\n  appliance run --state-dir ${dir}`);
        console.log(`\nJoin another host (token valid for ${v["token-ttl"]}, single use):`);
        console.log(`  appliance join ${url} --token ${token} --interface ${iface}`);
      }
    } finally {
      state.close();
    }
    return 0;
  },
};

async function readPassword(
  file: string | undefined,
): Promise<{ value: string; generated: boolean }> {
  if (file === undefined) return { value: randomHex(12), generated: true };
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new CliError(`init: cannot read --admin-password-file ${file}: ${(e as Error).message}`);
  }
  const value = text.replace(/\r?\n$/, "");
  if (value.length < 8) {
    throw new CliError(`init: the password in ${file} is shorter than 8 characters`);
  }
  return { value, generated: false };
}

export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
