/**
 * `deno task bench:nft`: what a bucket plan costs in the kernel through libnftables, with
 * 1024 buckets. Needs root; runs the applier in a temporary network namespace. Prints one
 * JSON object on stdout (ms, median/p90/max of N runs); progress goes to stderr.
 *
 *   full_apply_ms     a new rule structure: counters read, both tables replaced in one batch
 *   owned_update_ms   the same structure with other buckets: each owned set flushed and
 *                     refilled, the lease renewed, one batch
 *   lease_renewal_ms  the same plan: the lease's one element re-added (every heartbeat)
 *
 * for two shapes of this host's share: `contiguous` (512 buckets in one interval) and
 * `scattered` (every other bucket: 512 elements, the worst case for the set).
 */
import { NftChild, sh, withNetns } from "../agent/dataplane/_nft_netns.ts";
import { config, plan, range } from "../agent/dataplane/_nft_fixtures.ts";
import { progress, summarize } from "./_stats.ts";

const HELP = `Usage: deno task bench:nft [--runs N]

Times full nftables applies, owned-set updates and lease renewals of the dataplane (1024 buckets) through
libnftables, inside a temporary network namespace. Needs root. Prints one JSON object.

Options:
  --runs N   applies of each kind per shape, 1..1000 (default 50)
  --help     this text`;

function parse(args: string[]): number | undefined {
  let runs = 50;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") return undefined;
    if (a === "--runs" || a.startsWith("--runs=")) {
      const v = a.includes("=") ? a.slice(7) : args[++i];
      runs = Number(v);
      if (!Number.isInteger(runs) || runs < 1 || runs > 1000) {
        throw new Error(`--runs must be a whole number from 1 to 1000, got "${v ?? ""}"`);
      }
    } else throw new Error(`unknown option "${a}" (see: --help)`);
  }
  return runs;
}

async function main() {
  let runs: number | undefined;
  try {
    runs = parse(Deno.args);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    Deno.exit(2);
  }
  if (runs === undefined) {
    console.log(HELP);
    return;
  }
  if (Deno.uid() !== 0) {
    console.error("bench:nft needs root (network namespaces and nftables): run it with sudo");
    Deno.exit(1);
  }
  const cfg = config();
  const shapes = {
    contiguous: [range(0, 511), range(512, 1023)],
    scattered: [range(0, 1023).filter((b) => b % 2 === 0), range(0, 1023).filter((b) => b % 2)],
  };
  const nft = (await sh("nft", "--version")).trim();
  const result = await withNetns(async (ns) => {
    const child = new NftChild(ns, { iface: "v0", leaseMs: 200, config: cfg, refreshEveryMs: 0 });
    try {
      const out: Record<string, unknown> = {};
      for (const [shape, [a, b]] of Object.entries(shapes)) {
        progress(`${shape}: ${runs} full applies, owned updates and lease renewals`);
        const plans = [plan({ owned: { default: a } }), plan({ owned: { default: b } })];
        const r = await child.send({ op: "bench", plans, runs }) as {
          full: number[];
          refresh: number[];
          renew: number[];
        };
        const brief = (xs: number[]) => {
          const { raw: _raw, ...s } = summarize(xs, 2);
          return s;
        };
        out[shape] = {
          full_apply_ms: brief(r.full),
          owned_update_ms: brief(r.refresh),
          lease_renewal_ms: brief(r.renew),
        };
      }
      return out;
    } finally {
      await child.kill();
    }
  });
  console.log(JSON.stringify({ buckets: cfg.buckets, runs, nft, ...result }, null, 2));
}

if (import.meta.main) await main();
