/**
 * Runs an NftRuleApplier over libnftables inside a network namespace, for the root-only tests
 * and the benchmark (FFI calls act in the caller's namespace, so the applier runs here):
 *
 *   ip netns exec NS deno run -A _nft_child.ts '{"iface":"v0","leaseMs":200,"config":{…}}'
 *
 * Reads one JSON command per stdin line and answers one JSON line on stdout:
 *   {"op":"apply","plan":{…}} | {"op":"refresh"} | {"op":"counters"} | {"op":"clear"}
 *   {"op":"listen","port":80}  echoes TCP connections to the cluster IP
 *   {"op":"bench","plans":[A,B],"runs":50}  ms of each full apply (plans A and B alternate with
 *              defaultHost flipped, so the structure changes), each owned-set update (A and B
 *              alternate) and each lease renewal (the same plan; needs refreshEveryMs 0)
 * Exits when stdin closes.
 */
import type { ClusterConfig } from "../../../agent/cluster/config.ts";
import type { BucketPlan } from "../../../agent/cluster/effects.ts";
import { Libnftables } from "../../../agent/dataplane/libnftables.ts";
import { NftRuleApplier } from "../../../agent/dataplane/nft_rule_applier.ts";

interface Options {
  iface: string;
  leaseMs: number;
  config: ClusterConfig;
  /** The applier's refreshEveryMs (default: its own). */
  refreshEveryMs?: number;
}

type Command =
  | { op: "apply"; plan: BucketPlan }
  | { op: "refresh" }
  | { op: "counters" }
  | { op: "clear" }
  | { op: "listen"; port: number }
  | { op: "bench"; plans: BucketPlan[]; runs: number };

const options = JSON.parse(Deno.args[0]) as Options;
const nft = Libnftables.open();
const applier = new NftRuleApplier({
  runner: nft,
  config: () => options.config,
  iface: options.iface,
  leaseMs: options.leaseMs,
  refreshEveryMs: options.refreshEveryMs,
});

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.op) {
    case "apply":
      return await applier.apply(cmd.plan);
    case "refresh":
      return await applier.refresh();
    case "counters":
      return await applier.counters();
    case "clear":
      return await applier.clear();
    case "listen": {
      const listener = Deno.listen({ hostname: options.config.clusterIp, port: cmd.port });
      (async () => {
        for await (const conn of listener) conn.readable.pipeTo(conn.writable).catch(() => {});
      })();
      return null;
    }
    case "bench":
      return bench(cmd.plans, cmd.runs);
  }
}

/**
 * Times the applier: each full apply replaces the tables, each owned update refills the sets,
 * each renewal re-adds the lease.
 */
async function bench(plans: BucketPlan[], runs: number) {
  const timed = async (plan: BucketPlan) => {
    const t0 = performance.now();
    await applier.apply(plan);
    return performance.now() - t0;
  };
  const full: number[] = [], refresh: number[] = [], renew: number[] = [];
  for (let i = 0; i < runs; i++) {
    const plan = plans[i % plans.length];
    full.push(await timed({ ...plan, defaultHost: i % 2 === 0 }));
  }
  for (let i = 0; i < runs; i++) {
    // Start with the other plan than the last full apply's, so every apply is a refresh.
    const plan = plans[(i + runs) % plans.length];
    refresh.push(await timed({ ...plan, defaultHost: runs % 2 === 1 }));
  }
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await applier.refresh();
    renew.push(performance.now() - t0);
  }
  return { full, refresh, renew };
}

const encoder = new TextEncoder();
let buffered = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    let reply;
    try {
      reply = { ok: true, result: await handle(JSON.parse(line)) ?? null };
    } catch (err) {
      reply = { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    await Deno.stdout.write(encoder.encode(JSON.stringify(reply) + "\n"));
  }
}
nft.close();
Deno.exit(0);
