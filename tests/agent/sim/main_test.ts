import assert from "node:assert/strict";
import { parseOptions } from "../../../agent/sim/main.ts";

const MAIN = new URL("../../../agent/sim/main.ts", import.meta.url).pathname;

async function sim(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", MAIN, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("parseOptions() defaults to every scenario at 3 and 32 hosts, seed 1, one run", () => {
  const o = parseOptions([], 2);
  assert.ok(o !== "help");
  assert.deepEqual(o.hosts, [3, 32]);
  assert.equal(o.scenarios.length, 6);
  assert.deepEqual([o.seed, o.runs, o.minutes, o.jobs, o.json], [1, 1, 10, 2, false]);
});

Deno.test("parseOptions() reads lists and numbers", () => {
  const o = parseOptions(
    ["--json", "--hosts", "3,8", "--scenario", "crash,join", "--seed", "9", "--runs", "3"],
    1,
  );
  assert.ok(o !== "help");
  assert.deepEqual(o.hosts, [3, 8]);
  assert.deepEqual(o.scenarios, ["crash", "join"]);
  assert.deepEqual([o.seed, o.runs, o.json], [9, 3, true]);
});

Deno.test("parseOptions() names the bad flag or value", () => {
  const cases: [string[], RegExp][] = [
    [["--hosts", "2"], /--hosts: "2" is not a whole number from 3 to 32/],
    [["--hosts", "3,,8"], /--hosts: empty item/],
    [["--scenario", "meteor"], /unknown scenario "meteor"/],
    [["--runs", "0"], /--runs/],
    [["--minutes", "0"], /--minutes: "0" is not a whole number from 1 to 60/],
    [["--seed", "1.5"], /--seed/],
    [["--frobnicate"], /Unknown option '--frobnicate'/],
    [["extra"], /positional/i],
  ];
  for (const [args, re] of cases) assert.throws(() => parseOptions(args, 1), re, args.join(" "));
});

Deno.test("sim exits 2 with a usage message and no stack trace on a bad flag", async () => {
  const r = await sim("--hosts", "40");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^sim: --hosts: "40" is not a whole number from 3 to 32/);
  assert.match(r.stderr, /usage: deno task sim/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(r.stdout, "");
});

Deno.test("sim --json prints one row per scenario and size, with the metric fields", async () => {
  const r = await sim(
    "--json",
    "--scenario",
    "graceful_leave,crash",
    "--hosts",
    "3",
    "--jobs",
    "1",
  );
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  assert.deepEqual(rows.map((x: { scenario: string }) => x.scenario), ["graceful_leave", "crash"]);
  for (const row of rows) {
    assert.deepEqual(Object.keys(row).sort(), [
      "buckets_moved",
      "converge_ms",
      "detect_ms",
      "duplicate_owner_ms",
      "false_suspicions",
      "hosts",
      "scenario",
    ]);
  }
  assert.match(r.stderr, /\[2\/2\]/, "progress goes to stderr");
});

Deno.test("sim --help prints the usage and exits 0", async () => {
  const r = await sim("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--runs N/);
});
