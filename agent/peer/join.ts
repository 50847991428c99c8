/**
 * Admitting a new host: check the single-use token, refuse duplicates with the reason,
 * sign the joiner's certificate, add it to the config (a new version, pushed to every
 * member) and hand it what it needs: config, cluster key, CA and its own certificate.
 */
import type { StateStore } from "../../db/state_store.ts";
import {
  type ClusterConfig,
  type HostEntry,
  isIPv4,
  MAX_HOSTS,
  validateConfig,
} from "../cluster/config.ts";
import type { CertAndKey } from "../security/ca.ts";
import { checkSecret } from "../security/token.ts";
import { randomHostId } from "../security/random_id.ts";

export interface JoinRequest {
  tokenId: string;
  secret: string;
  name: string;
  address: string;
  priority?: number;
  weight?: number;
}

export interface JoinGrant {
  hostId: number;
  config: ClusterConfig;
  clusterKey: string;
  caCert: string;
  caKey: string;
  hostCert: string;
  hostKey: string;
}

export interface JoinDeps {
  store: Pick<StateStore, "getToken" | "consumeToken">;
  config(): ClusterConfig;
  publish(config: ClusterConfig): Promise<unknown>;
  ca: CertAndKey;
  clusterKeyB64: string;
  now(): number;
}

export type JoinResult = { ok: true; grant: JoinGrant } | {
  ok: false;
  status: 400 | 403 | 409;
  error: string;
};

export function parseJoinRequest(body: unknown): JoinRequest | string {
  const b = body as Record<string, unknown>;
  if (!b || typeof b !== "object") return "body must be a JSON object";
  for (const k of ["tokenId", "secret", "name", "address"]) {
    if (typeof b[k] !== "string" || !b[k]) return `${k} is required`;
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(b.name as string)) {
    return `name "${b.name}" must be 1-63 letters, digits, . _ - (starting with a letter or digit)`;
  }
  if (!isIPv4(b.address as string)) return `address "${b.address}" is not an IPv4 address`;
  if (
    b.priority !== undefined &&
    !(Number.isInteger(b.priority) && (b.priority as number) >= 1 && (b.priority as number) <= 32)
  ) {
    return "priority must be an integer from 1 to 32";
  }
  if (
    b.weight !== undefined &&
    !(Number.isInteger(b.weight) && (b.weight as number) >= 0 && (b.weight as number) <= 100)
  ) {
    return "weight must be an integer from 0 to 100";
  }
  return b as unknown as JoinRequest;
}

export async function handleJoin(req: JoinRequest, deps: JoinDeps): Promise<JoinResult> {
  const now = deps.now();
  const token = deps.store.getToken(req.tokenId);
  if (!token || !checkSecret(token, req.secret)) {
    return {
      ok: false,
      status: 403,
      error:
        "the join token is not valid for this cluster: create one with `appliance token create` on a member",
    };
  }
  if (token.usedAt !== undefined) {
    return {
      ok: false,
      status: 403,
      error:
        "the join token was already used: tokens are single-use; create a new one with `appliance token create`",
    };
  }
  if (now >= token.expiresAt) {
    return {
      ok: false,
      status: 403,
      error: `the join token expired at ${
        new Date(token.expiresAt).toISOString()
      }: create a new one with \`appliance token create\``,
    };
  }
  const cfg = deps.config();
  if (cfg.hosts.length >= MAX_HOSTS) {
    return {
      ok: false,
      status: 409,
      error: `the cluster already has ${MAX_HOSTS} hosts, the maximum`,
    };
  }
  const dup = duplicate(cfg.hosts, req);
  if (dup) return { ok: false, status: 409, error: dup };
  const used = new Set(cfg.hosts.map((h) => h.priority));
  const priority = req.priority ??
    [...Array(32).keys()].map((i) => i + 1).find((p) => !used.has(p))!;
  const ids = new Set(cfg.hosts.map((h) => h.id));
  let hostId = randomHostId();
  while (ids.has(hostId)) hostId = randomHostId();
  const host: HostEntry = {
    id: hostId,
    name: req.name,
    address: req.address,
    priority,
    weight: req.weight ?? 50,
  };
  const next: ClusterConfig = { ...cfg, version: cfg.version + 1, hosts: [...cfg.hosts, host] };
  const errs = validateConfig(next);
  if (errs.length) return { ok: false, status: 400, error: errs.join("; ") };
  const consumed = deps.store.consumeToken(req.tokenId, now);
  if (!consumed.ok) {
    return {
      ok: false,
      status: 403,
      error:
        `the join token is ${consumed.reason}: create a new one with \`appliance token create\``,
    };
  }
  const { issueHostCert } = await import("../security/ca.ts");
  const cert = await issueHostCert(deps.ca, { name: req.name, ips: [req.address] });
  await deps.publish(next);
  return {
    ok: true,
    grant: {
      hostId,
      config: next,
      clusterKey: deps.clusterKeyB64,
      caCert: deps.ca.certPem,
      caKey: deps.ca.keyPem,
      hostCert: cert.certPem,
      hostKey: cert.keyPem,
    },
  };
}

function duplicate(hosts: HostEntry[], req: JoinRequest): string | undefined {
  const byName = hosts.find((h) => h.name === req.name);
  if (byName) {
    return `a host named "${req.name}" is already a member: pick another name with --name`;
  }
  const byAddr = hosts.find((h) => h.address === req.address);
  if (byAddr) return `address ${req.address} already belongs to host "${byAddr.name}"`;
  const byPrio = hosts.find((h) => h.priority === req.priority);
  if (req.priority !== undefined && byPrio) {
    return `priority ${req.priority} is already held by host "${byPrio.name}": priorities must be unique (pick a free one with --priority, or omit it)`;
  }
  return undefined;
}
