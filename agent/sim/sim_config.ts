/**
 * The config every simulated cluster starts from: `defaultConfig` plus N hosts named
 * h1..hN at 198.18.0.1..N, priorities 1..N, weight 50, with random (seeded) host ids as
 * `appliance init`/`join` would assign them.
 */
import { type ClusterConfig, defaultConfig, MAX_HOSTS } from "../cluster/config.ts";
import type { Prng } from "./prng.ts";

export const MIN_SIM_HOSTS = 1;

export function simConfig(hosts: number, rng: Prng): ClusterConfig {
  if (!Number.isInteger(hosts) || hosts < MIN_SIM_HOSTS || hosts > MAX_HOSTS) {
    throw new Error(`a simulated cluster has 1..${MAX_HOSTS} hosts, got ${hosts}`);
  }
  const clusterId = Array.from({ length: 2 }, () => rng.u32().toString(16).padStart(8, "0"))
    .join("");
  const config = defaultConfig({ clusterId, clusterIp: "198.18.0.100" });
  const ids = new Set<number>();
  while (ids.size < hosts) {
    const id = rng.u32();
    if (id !== 0) ids.add(id);
  }
  config.hosts = [...ids].map((id, i) => ({
    id,
    name: `h${i + 1}`,
    address: `198.18.0.${i + 1}`,
    priority: i + 1,
    weight: 50,
  }));
  return config;
}

/** A 32-byte cluster key drawn from the generator. */
export function simKey(rng: Prng): Uint8Array {
  const key = new Uint8Array(32);
  const dv = new DataView(key.buffer);
  for (let i = 0; i < 8; i++) dv.setUint32(i * 4, rng.u32());
  return key;
}
