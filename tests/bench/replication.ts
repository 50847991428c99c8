/**
 * `deno task bench:replication`: directory replication against rsync, on real agents in
 * network namespaces (needs root and rsync). Each case gets a fresh 3-host lab (h1 exports,
 * h2 and h3 import) with rsync daemons in h2's and h3's namespaces; rsync pushes from h1's
 * namespace to both in parallel, over the same bridge, the same bytes. Per case: wall time,
 * bytes on the importers' links (veth counters) and, for us, the agents' RSS. Prints one
 * JSON object on stdout; progress on stderr. Targets are reported, never asserted.
 */
import { benchHeader, benchOptions } from "./_cli.ts";
import { type CaseName, CASES, FULL, QUICK, runCase } from "./_repl_cases.ts";
import { createReplLab, destroyReplLab, type ReplLab } from "./_repl_lab.ts";
import { progress, round } from "./_stats.ts";

const HELP =
  `Usage: deno task bench:replication [--quick] [--cases A,B] [--samples N] [--stabilize MS]
                                   [--tmp DIR] [--verbose]

Directory replication (content-addressed, chunked, pulled over the peer API) against
rsync -a --delete and rsync --link-dest + symlink swap, over the same namespace lab link.
Cases (each on a fresh 3-host lab):
  initial   initial sync of 10k files / 500 MB
  tree      one changed file in a 100k-file tree (latency samples, RSS)
  insert    a 1-byte insertion in a 200 MB file
  rename    the rename of a 1 GB directory
  latency   a new small file on the exporter until every host serves it (samples)
Needs root, rsync (apt-get install -y rsync) and about 12 GB free under --tmp.
Prints one JSON object on stdout; progress on stderr. About 8 minutes (2 cores); --quick: 1.5.

Options:
  --quick          small sizes (1k files / 50 MB, 10k-file tree, 20 MB file, 100 MB dir)
  --cases A,B      only these cases (default: all)
  --samples N      latency samples per latency case, 1..100 (default 10; --quick: 5)
  --stabilize MS   replication.stabilizeMs for the run (default 300)
  --tmp DIR        where the data and the labs live (default /var/tmp)
  --verbose        the labs' own progress on stderr
  --help           this text`;

const MB = 1 << 20;

interface Options {
  quick: boolean;
  cases: CaseName[];
  samples: number;
  stabilizeMs: number;
  tmp: string;
  verbose: boolean;
}

function parse(args: string[]): Options | undefined {
  let quick = false, verbose = false, samples: number | undefined, stabilizeMs = 300;
  let cases: CaseName[] = [...CASES], tmp = "/var/tmp";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      if (v === undefined) throw new Error(`${a} needs a value (see: --help)`);
      return v;
    };
    const int = (name: string, lo: number, hi: number) => {
      const v = value(), n = Number(v);
      if (!Number.isInteger(n) || n < lo || n > hi) {
        throw new Error(`${name} must be a whole number from ${lo} to ${hi}, got "${v}"`);
      }
      return n;
    };
    if (a === "--help" || a === "-h") return undefined;
    else if (a === "--quick") quick = true;
    else if (a === "--verbose") verbose = true;
    else if (a === "--samples" || a.startsWith("--samples=")) samples = int("--samples", 1, 100);
    else if (a === "--stabilize" || a.startsWith("--stabilize=")) {
      stabilizeMs = int("--stabilize", 0, 10_000);
    } else if (a === "--tmp" || a.startsWith("--tmp=")) tmp = value();
    else if (a === "--cases" || a.startsWith("--cases=")) {
      cases = value().split(",").filter(Boolean).map((c) => {
        if (!(CASES as readonly string[]).includes(c)) {
          throw new Error(`unknown case "${c}": choose from ${CASES.join(", ")}`);
        }
        return c as CaseName;
      });
    } else throw new Error(`unknown option "${a}" (see: --help)`);
  }
  return { quick, cases, samples: samples ?? (quick ? 5 : 10), stabilizeMs, tmp, verbose };
}

async function main(args: string[]): Promise<number> {
  const o = benchOptions("bench:replication", args, parse, HELP, true);
  if (typeof o === "number") return o;
  if (!(await hasRsync())) {
    console.error("bench:replication: rsync not found: install it (apt-get install -y rsync)");
    return 2;
  }
  const started = performance.now();
  const sizes = o.quick ? QUICK : FULL;
  const out: Record<string, unknown> = {
    ...await benchHeader("replication", o.quick, { busyCores: true }),
    setup: {
      hosts: 3,
      exporter: "h1",
      importers: ["h2", "h3"],
      stabilize_ms: o.stabilizeMs,
      samples: o.samples,
      rsync: "daemon in each importer's namespace, pushed from h1's to both in parallel",
      wire_bytes: "rx + tx of the importers' eth0, summed; per_importer_max: the larger of the two",
      durability: "the agents fsync every file before publishing; rsync does not: its " +
        "durable_ms adds a sync(1) after the push. sync(1) also runs before every measurement",
      sizes,
    },
  };
  const results: Partial<Record<CaseName, Record<string, unknown>>> = {};
  const errors: Record<string, string> = {};
  for (const name of o.cases) {
    progress(`case ${name}: building the lab`);
    let r: ReplLab | undefined;
    let off = () => {};
    try {
      r = await createReplLab({
        stabilizeMs: o.stabilizeMs,
        tmpRoot: o.tmp,
        log: o.verbose ? (l) => progress(`  lab: ${l}`) : undefined,
      });
      off = r.lab.destroyOnSignal();
      const t = performance.now();
      results[name] = await runCase(name, r, {
        sizes,
        samples: o.samples,
        rsyncSamples: o.quick ? 1 : 3,
      });
      results[name]!.elapsed_s = round((performance.now() - t) / 1000, 1);
      progress(`case ${name}: done in ${results[name]!.elapsed_s} s`);
    } catch (e) {
      errors[name] = (e as Error).message;
      progress(`case ${name} failed: ${(e as Error).stack ?? e}`);
      if (r) {
        for (const h of r.lab.hosts) progress(`  ${h.name} log:\n${await r.lab.agentLog(h, 15)}`);
      }
    } finally {
      off();
      if (r) await destroyReplLab(r).catch((e) => progress(`cleanup: ${(e as Error).message}`));
    }
  }
  out.cases = results;
  if (Object.keys(errors).length) out.errors = errors;
  out.targets = targets(results, o.stabilizeMs);
  out.elapsed_s = round((performance.now() - started) / 1000, 1);
  console.log(JSON.stringify(out, null, 2));
  return Object.keys(errors).length ? 1 : 0;
}

// deno-lint-ignore no-explicit-any
type Any = any;

/** Each target of the issue beside its measured value (null: the case did not run). */
function targets(c: Partial<Record<CaseName, Any>>, stabilizeMs: number) {
  const verdict = (value: number | null, limit: number, extra: Record<string, unknown> = {}) => ({
    value,
    limit,
    ...extra,
    pass: value === null ? null : value <= limit,
  });
  const latMax = [c.tree, c.latency].filter(Boolean).map((x) =>
    x.appliance.latency_ms.max as number
  );
  return {
    small_change_ms_after_window: verdict(latMax.length ? Math.max(...latMax) : null, 300, {
      judged_on: "the largest sample of the tree and latency cases",
      tree_median: c.tree?.appliance.latency_ms.median ?? null,
      latency_median: c.latency?.appliance.latency_ms.median ?? null,
      stabilize_ms: stabilizeMs,
    }),
    initial_sync_vs_rsync: verdict(
      c.initial ? round(c.initial.appliance.ms / c.initial.rsync.ms, 2) : null,
      1,
      {
        judged_on: "appliance ms / rsync -a ms (1 = as fast)",
        vs_linkdest: c.initial
          ? round(c.initial.appliance.ms / c.initial.rsync_linkdest.ms, 2)
          : null,
        vs_rsync_durable: c.initial
          ? round(c.initial.appliance.ms / c.initial.rsync.durable_ms, 2)
          : null,
        appliance_ms: c.initial?.appliance.ms ?? null,
        rsync_ms: c.initial?.rsync.ms ?? null,
        // The work each side did, whatever the cores: the agents' CPU seconds (all three)
        // against every rsync process's.
        appliance_cpu_s: c.initial
          ? round(
            (Object.values(c.initial.appliance.cpu_s) as number[]).reduce((x, y) => x + y, 0),
            2,
          )
          : null,
        rsync_cpu_s: c.initial?.rsync.cpu_s ?? null,
      },
    ),
    insertion_bytes_per_importer: verdict(c.insert?.appliance.per_importer_max ?? null, MB, {
      judged_on: "rx + tx on one importer's link for the 1-byte insertion",
      total_both_importers: c.insert?.appliance.wire_bytes ?? null,
    }),
    rename_share_of_data_percent: verdict(
      c.rename ? round((100 * c.rename.appliance.per_importer_max) / c.rename.dir_bytes, 3) : null,
      1,
      { judged_on: "rx + tx on one importer's link / the directory's bytes" },
    ),
    agent_rss_mb_100k_tree: verdict(
      c.tree
        ? Math.max(
          ...Object.values(c.tree.memory_after as Record<string, { peak_mb: number }>).map((m) =>
            m.peak_mb
          ),
        )
        : null,
      200,
      {
        judged_on: `the largest agent VmHWM (peak RSS) in the tree case (${
          c.tree?.files ?? "?"
        } files)`,
      },
    ),
  };
}

async function hasRsync(): Promise<boolean> {
  try {
    return (await new Deno.Command("rsync", { args: ["--version"], stdout: "null", stderr: "null" })
      .output())
      .success;
  } catch {
    return false;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
