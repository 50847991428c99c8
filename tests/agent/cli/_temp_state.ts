/** A member's state dir in a temp directory, and output capture, for the CLI tests. */
import { openStateDir, socketPath } from "../../../agent/state_dir.ts";
import { type ClusterConfig, defaultConfig } from "../../../agent/cluster/config.ts";
import { createCa } from "../../../agent/security/ca.ts";

export const CLUSTER_ID = "0123456789abcdef";

/** Version 1 of a three-host cluster; this host is h1. */
export function testConfig(): ClusterConfig {
  return {
    ...defaultConfig({ clusterId: CLUSTER_ID, clusterIp: "198.18.0.10" }),
    hosts: [
      { id: 101, name: "h1", address: "198.18.0.1", priority: 1, weight: 50 },
      { id: 102, name: "h2", address: "198.18.0.2", priority: 2, weight: 50 },
      { id: 103, name: "h3", address: "198.18.0.3", priority: 3, weight: 50 },
    ],
  };
}

/**
 * Runs `fn` with a state dir holding h1's identity and testConfig() (and with `ca`, a
 * cluster CA); removes the directory afterwards whatever happens.
 */
export async function withStateDir(
  fn: (dir: string) => void | Promise<void>,
  opts: { ca?: boolean; config?: boolean } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "appliance_cli_test_" });
  try {
    const state = openStateDir(dir, { create: true });
    try {
      state.store.setIdentity({
        hostId: 101,
        name: "h1",
        interface: "eth1",
        address: "198.18.0.1",
      });
      if (opts.config !== false) state.store.saveConfig(testConfig(), 1);
      if (opts.ca) {
        const ca = await createCa(CLUSTER_ID);
        state.store.setSecret("ca_cert", ca.certPem);
        state.store.setSecret("ca_key", ca.keyPem);
      }
    } finally {
      state.close();
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `fn` on the state in `dir` and closes it. */
export function withState<T>(dir: string, fn: (s: ReturnType<typeof openStateDir>) => T): T {
  const state = openStateDir(dir, { create: false });
  try {
    return fn(state);
  } finally {
    state.close();
  }
}

export function latestConfig(dir: string): ClusterConfig {
  return withState(dir, (s) => s.store.latestConfig()!.config as ClusterConfig);
}

/** Runs `fn` with console.log captured; returns what it returned and the printed lines. */
export async function capture<T>(fn: () => Promise<T>): Promise<{ result: T; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    const result = await fn();
    return { result, out: lines.join("\n") };
  } finally {
    console.log = log;
  }
}

/**
 * Serves `handler` on the state dir's agent socket, as a running agent would, for the
 * duration of `fn`.
 */
export async function withFakeAgent(
  dir: string,
  handler: (req: Request) => Response | Promise<Response>,
  fn: () => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ path: socketPath(dir), onListen() {} }, handler);
  try {
    await fn();
  } finally {
    await server.shutdown();
  }
}

/** Asserts that `promise` rejects with an instance of `type` whose message matches `pattern`. */
export async function rejectsWith(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  pattern: RegExp,
): Promise<void> {
  try {
    await promise;
  } catch (e) {
    if (!(e instanceof type)) throw new Error(`expected a ${type.name}, got ${e}`, { cause: e });
    if (!pattern.test(e.message)) {
      throw new Error(
        `${type.name} message ${JSON.stringify(e.message)} does not match ${pattern}`,
      );
    }
    return;
  }
  throw new Error(`expected a ${type.name}, but it resolved`);
}
