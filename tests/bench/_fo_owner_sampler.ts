/**
 * Samples which buckets each host's kernel accepts, for `bench:failover`'s duplicate-owner
 * check: a separate process, started in the root namespace, that enters each host's
 * network namespace once (setns on its JS thread) to open one libnftables context there,
 * then lists `ip appliance <set>` in every namespace every --period-ms (empty while the
 * host's lease has run out: then it takes no new flow).
 *
 *   deno run -A _fo_owner_sampler.ts --set owned_default [--buckets 1024] [--period-ms 20]
 *     [--duration-ms 10000] [--count 5000] NS…
 *
 * One process and one netlink socket per host, instead of `ip netns exec … nft` (a fork and
 * an exec per host every 20 ms would load the 2 cores the agents run on). Each round lists
 * the hosts twice, in order then in reverse (h1 h2 h3 h3 h2 h1), so for each pair the earlier
 * host's two listings bracket the later host's: a bucket in both of the outer host's and in
 * either of the inner host's listings was in both sets at the same instant (an element is
 * removed by a flush, or all of them by the lease running out; neither puts it back within
 * the round).
 *
 * Output: `{"ready": <wall ms>}`, then one JSON line per round (an OwnerRound: wall-clock
 * ms, buckets per host, pairs of hosts that owned the same buckets at once, buckets nobody
 * owned; an absent table or set counts as empty). Bounded by --duration-ms and --count;
 * stops on SIGTERM or when nobody reads stdout.
 */
import { Libnftables } from "../../agent/dataplane/libnftables.ts";

/** The libc calls this tool needs, each with its C prototype. */
const LIBC = {
  /** int open(const char *pathname, int flags); */
  open: { parameters: ["buffer", "i32"], result: "i32" },
  /** int setns(int fd, int nstype); */
  setns: { parameters: ["i32", "i32"], result: "i32" },
  /** int close(int fd); */
  close: { parameters: ["i32"], result: "i32" },
} as const;

/** #define O_RDONLY 0, O_CLOEXEC 02000000 */
const O_RDONLY_CLOEXEC = 0o2000000;
/** #define CLONE_NEWNET 0x40000000 */
const CLONE_NEWNET = 0x40000000;

export type Ranges = [number, number][];

export interface OwnerRound {
  /** Wall-clock ms when the round started and ended (a round takes a few ms). */
  t0: number;
  t1: number;
  /** Buckets in each host's set (first pass), in the order the namespaces were named. */
  n: number[];
  /** "i-j" (host indexes, i < j) → buckets both owned at one instant; only pairs with any. */
  overlap: Record<string, number>;
  /** Buckets that no host owned in either pass. */
  uncovered: number;
  /** Per host i: buckets that no host but i owned in either pass (i left out of the union). */
  uncoveredWithout: number[];
}

interface Options {
  periodMs: number;
  durationMs: number;
  count: number;
  set: string;
  /** The rule's bucket count (the config's `buckets`). */
  buckets: number;
  namespaces: string[];
}

function parse(args: string[]): Options {
  const o: Options = {
    periodMs: 20,
    durationMs: 10_000,
    count: 5_000,
    set: "",
    buckets: 1024,
    namespaces: [],
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const num = (max: number) => {
      const n = Number(args[++i]);
      if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${a}: 1..${max}`);
      return n;
    };
    if (a === "--period-ms") o.periodMs = num(10_000);
    else if (a === "--duration-ms") o.durationMs = num(600_000);
    else if (a === "--count") o.count = num(100_000);
    else if (a === "--buckets") o.buckets = num(4096);
    else if (a === "--set") o.set = args[++i] ?? "";
    else if (/^[a-z0-9-]{1,32}$/.test(a)) o.namespaces.push(a);
    else throw new Error(`unknown argument "${a}"`);
  }
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(o.set)) throw new Error("--set NAME is required");
  if (o.namespaces.length === 0) throw new Error("name at least one namespace");
  return o;
}

/** One libnftables context per namespace, its netlink socket created inside it. */
function openIn(namespaces: string[]): Libnftables[] {
  const libc = Deno.dlopen("libc.so.6", LIBC).symbols;
  const cstr = (s: string) => new TextEncoder().encode(s + "\0");
  const home = libc.open(cstr("/proc/self/ns/net"), O_RDONLY_CLOEXEC);
  if (home < 0) throw new Error("cannot open /proc/self/ns/net (run as root)");
  const out: Libnftables[] = [];
  try {
    for (const ns of namespaces) {
      const fd = libc.open(cstr(`/run/netns/${ns}`), O_RDONLY_CLOEXEC);
      if (fd < 0) throw new Error(`no namespace /run/netns/${ns} (see: ip netns list)`);
      const rc = libc.setns(fd, CLONE_NEWNET);
      libc.close(fd);
      if (rc !== 0) throw new Error(`setns into ${ns} failed (run as root)`);
      out.push(Libnftables.open());
    }
  } finally {
    // Back home, or this thread would stay in the last host's namespace.
    const rc = libc.setns(home, CLONE_NEWNET);
    libc.close(home);
    if (rc !== 0) Deno.exit(3);
  }
  return out;
}

/** The set's elements as inclusive ranges, from `nft -j list set`; [] if it does not exist. */
export function parseSet(json: string): Ranges {
  const out: Ranges = [];
  for (const doc of json.split("\n")) {
    if (!doc.trim()) continue;
    for (const item of (JSON.parse(doc).nftables ?? []) as Record<string, unknown>[]) {
      const set = item.set as { elem?: unknown[] } | undefined;
      for (const e of set?.elem ?? []) {
        const v = (e as { elem?: { val: unknown } }).elem?.val ?? e;
        if (typeof v === "number") out.push([v, v]);
        else if (v && typeof v === "object" && "range" in v) {
          const [lo, hi] = (v as { range: [number, number] }).range;
          out.push([lo, hi]);
        } else if (v && typeof v === "object" && "prefix" in v) {
          // A 32-bit mark range that nft printed as a prefix: 8/31 is 8-9.
          const { addr, len } = (v as { prefix: { addr: number; len: number } }).prefix;
          out.push([addr, addr + 2 ** (32 - len) - 1]);
        }
      }
    }
  }
  return out;
}

/** Whether a set listed by `nft -j list set` has any element. */
export function hasElements(json: string): boolean {
  return json.split("\n").some((doc) =>
    doc.trim() !== "" &&
    ((JSON.parse(doc).nftables ?? []) as Record<string, unknown>[]).some((item) =>
      ((item.set as { elem?: unknown[] } | undefined)?.elem?.length ?? 0) > 0
    )
  );
}

/** The buckets 0..count-1 as a byte each: 1 when in one of the ranges. */
export function bits(ranges: Ranges, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (const [lo, hi] of ranges) out.fill(1, lo, Math.min(hi, count - 1) + 1);
  return out;
}

/**
 * One round's verdict. Host i was listed before j in pass a and after it in pass b, so
 * i's two listings bracket j's: a bucket in both of i's and in either of j's was owned by
 * both at the moment j was listed.
 */
export function compare(t0: number, t1: number, a: Uint8Array[], b: Uint8Array[]): OwnerRound {
  const overlap: Record<string, number> = {};
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      let k = 0;
      for (let x = 0; x < a[i].length; x++) k += a[i][x] & b[i][x] & (a[j][x] | b[j][x]);
      if (k > 0) overlap[`${i}-${j}`] = k;
    }
  }
  const uncoveredWithout = [...a.keys(), -1].map((skip) => {
    let k = 0;
    for (let x = 0; x < (a[0]?.length ?? 0); x++) {
      let any = 0;
      for (let h = 0; h < a.length; h++) if (h !== skip) any |= a[h][x] | b[h][x];
      k += any ^ 1;
    }
    return k;
  });
  const n = a.map((s) => s.reduce((sum, v) => sum + v, 0));
  const uncovered = uncoveredWithout.pop() ?? 0;
  return { t0, t1, n, overlap, uncovered, uncoveredWithout };
}

function main(args: string[]): number {
  const o = parse(args);
  const ctxs = openIn(o.namespaces);
  // A host takes a new flow in a bucket only while its lease (one element) is alive.
  const list = (ctx: Libnftables): Ranges => {
    const lease = ctx.run(`list set ip appliance lease`, { json: true });
    if (!lease.ok || !hasElements(lease.output)) return [];
    const r = ctx.run(`list set ip appliance ${o.set}`, { json: true });
    return r.ok ? parseSet(r.output) : [];
  };
  let stop = false;
  Deno.addSignalListener("SIGTERM", () => stop = true);
  const enc = new TextEncoder();
  const print = (v: unknown) => {
    try {
      const bytes = enc.encode(JSON.stringify(v) + "\n");
      for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
    } catch {
      stop = true; // nobody reads any more
    }
  };
  print({ ready: Date.now() });
  const end = Date.now() + o.durationMs;
  let rounds = 0;
  const tick = () => {
    if (stop || rounds++ >= o.count || Date.now() >= end) {
      for (const c of ctxs) c.close();
      Deno.exit(0);
    }
    const t0 = Date.now();
    const a = ctxs.map(list);
    const b = [...ctxs].reverse().map(list).reverse();
    const set = (r: Ranges) => bits(r, o.buckets);
    print(compare(t0, Date.now(), a.map(set), b.map(set)));
    setTimeout(tick, Math.max(0, o.periodMs - (Date.now() - t0)));
  };
  tick();
  return 0;
}

if (import.meta.main) main(Deno.args);
