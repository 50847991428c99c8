import assert from "node:assert/strict";
import type { BucketPlan } from "../../../agent/cluster/effects.ts";
import type { NftResult } from "../../../agent/dataplane/libnftables.ts";
import {
  leaseFor,
  NftRuleApplier,
  type NftRuleApplierOptions,
  type NftRunner,
  parseCounters,
} from "../../../agent/dataplane/nft_rule_applier.ts";
import {
  renderHandoffUpdate,
  renderLeaseRefresh,
  renderOwnedUpdate,
  renderRuleset,
  renderTeardown,
} from "../../../agent/dataplane/nft_rules.ts";
import { config, plan, range, rule } from "./_nft_fixtures.ts";

/** Records every script; answers listings from `tables` and `counters`, fails on `fail`. */
class FakeRunner implements NftRunner {
  sent: string[] = [];
  tables = "";
  counters: { family: string; table: string; name: string; packets: number; bytes: number }[] = [];
  fail: string | undefined;

  run(script: string, options: { json?: boolean } = {}): NftResult {
    this.sent.push(script);
    if (this.fail) return { ok: false, error: this.fail };
    if (script === "list tables") return { ok: true, output: this.tables };
    if (script === "list counters") {
      assert.equal(options.json, true, "counters are read as JSON");
      const items = this.counters.map((counter) => ({ counter: { handle: 1, ...counter } }));
      return { ok: true, output: JSON.stringify({ nftables: [{ metainfo: {} }, ...items] }) };
    }
    return { ok: true, output: "" };
  }

  /** The scripts sent since the last call. */
  take(): string[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }
}

const cfg = config([
  rule("default", "both", 0, 65535, "multiple", "single"),
  rule("web", "tcp", 80, 80, "multiple", "none"),
  rule("admin", "tcp", 8443, 8443, "single"),
]);
const base = plan({ owned: { default: range(0, 511), web: [1, 2, 3] }, single: { admin: true } });

function setup(over: Partial<NftRuleApplierOptions> = {}) {
  const runner = new FakeRunner();
  let now = 1000;
  const clock = { advance: (ms: number) => (now += ms) };
  const make = () =>
    new NftRuleApplier({
      runner,
      config: () => cfg,
      iface: "eth1",
      now: () => now,
      interfaceExists: (name) => name === "eth1",
      ...over,
    });
  return { runner, clock, make };
}

/** What the applier renders for `p` with the defaults (lease 200 ms, seed from cluster id). */
const input = (p: BucketPlan) => ({
  config: cfg,
  plan: p,
  iface: "eth1",
  leaseMs: 200,
  seed: 0xc0ffee00,
  table: "appliance",
});

Deno.test("NftRuleApplier lists tables on construction and deletes only leftovers", () => {
  const { runner, make } = setup();
  make();
  assert.deepEqual(runner.take(), ["list tables"]);
  runner.tables = "table ip filter\ntable inet appliance\ntable netdev appliance-x\n";
  make();
  assert.deepEqual(runner.take(), ["list tables", "delete table inet appliance\n"]);
});

Deno.test("NftRuleApplier refuses to start when another process owns the tables", () => {
  const { runner, make } = setup();
  runner.tables = "table inet appliance\n";
  const realRun = runner.run.bind(runner);
  runner.run = (script, options) =>
    script.startsWith("delete")
      ? { ok: false, error: "Error: Could not process rule: Operation not permitted" }
      : realRun(script, options);
  assert.throws(make, /removing the leftover "appliance" tables failed: .*another live process/);
});

Deno.test("apply() installs the full ruleset first, in one script", async () => {
  const { runner, make } = setup();
  const a = make();
  runner.take();
  await a.apply(base);
  assert.deepEqual(runner.take(), [renderRuleset(input(base))]);
});

Deno.test("apply() of the same plan within the refresh interval sends nothing", async () => {
  const { runner, clock, make } = setup();
  const a = make();
  await a.apply(base);
  runner.take();
  clock.advance(24); // default refresh interval: 200 ms / 8 = 25 ms
  await a.apply(base);
  await a.apply({ ...base, epoch: base.epoch + 1 });
  assert.deepEqual(runner.take(), []);
  clock.advance(1);
  await a.apply(base);
  assert.deepEqual(runner.take(), [renderLeaseRefresh(input(base))]);
});

Deno.test("apply() with other buckets and the same structure refills the sets and renews the lease", async () => {
  const { runner, clock, make } = setup();
  const a = make();
  await a.apply(base);
  runner.take();
  clock.advance(1);
  const moved = { ...base, epoch: 8, owned: { default: range(0, 300), web: [] } };
  await a.apply(moved);
  const sent = runner.take();
  assert.deepEqual(sent, [renderOwnedUpdate(input(moved)) + renderLeaseRefresh(input(moved))]);
  assert.match(sent[0], /^flush set ip appliance owned_web\nflush set ip appliance owned_def/);
  // Then the lease alone, when due: the sets keep their elements.
  clock.advance(25);
  await a.refresh();
  assert.deepEqual(runner.take(), [renderLeaseRefresh(input(moved))]);
  assert.doesNotMatch(renderLeaseRefresh(input(moved)), /owned/);
});

Deno.test("apply() reinstalls the full ruleset when the rule structure changes", async () => {
  const { runner, clock, make } = setup();
  const a = make();
  await a.apply(base);
  runner.take();
  const changes: BucketPlan[] = [
    { ...base, single: { admin: false } },
    { ...base, single: { admin: false }, defaultHost: false },
    { ...base, single: { admin: false }, defaultHost: false, accepting: false },
  ];
  for (const p of changes) {
    clock.advance(1);
    await a.apply(p);
    const sent = runner.take();
    assert.equal(sent.length, 2, "counters read, then one full script");
    assert.equal(sent[0], "list counters");
    assert.equal(sent[1], renderRuleset(input(p)));
  }
});

Deno.test("refresh() renews leases only when due, and never before the first apply", async () => {
  const { runner, clock, make } = setup();
  const a = make();
  runner.take();
  await a.refresh();
  assert.deepEqual(runner.take(), []);
  await a.apply(base);
  runner.take();
  await a.refresh();
  assert.deepEqual(runner.take(), []);
  for (let i = 0; i < 3; i++) {
    clock.advance(50);
    await a.refresh();
    assert.deepEqual(runner.take(), [renderLeaseRefresh(input(base))]);
  }
});

Deno.test("refresh() sends nothing while the host is not accepting", async () => {
  const { runner, clock, make } = setup();
  const a = make();
  await a.apply({ ...base, accepting: false });
  runner.take();
  clock.advance(50);
  await a.refresh();
  assert.deepEqual(runner.take(), []);
});

Deno.test("clear() deletes both tables once; apply() afterwards installs everything again", async () => {
  const { runner, make } = setup();
  const a = make();
  await a.clear();
  assert.deepEqual(runner.take(), ["list tables"]);
  await a.apply(base);
  await a.clear();
  await a.clear();
  await a.refresh();
  assert.deepEqual(runner.take().slice(1), [renderTeardown()]);
  await a.apply(base);
  assert.deepEqual(runner.take(), [renderRuleset(input(base))]);
});

Deno.test("apply() rejects with nft's error and retries the full ruleset next time", async () => {
  const { runner, make } = setup();
  const a = make();
  runner.fail = "Error: Could not process rule: Operation not permitted";
  await assert.rejects(
    a.apply(base),
    /installing the "appliance" ruleset failed: Error: .*Operation not permitted \(run the agent as root/,
  );
  runner.fail = undefined;
  runner.take();
  await a.apply(base);
  assert.deepEqual(runner.take(), [renderRuleset(input(base))]);
});

Deno.test("apply() names an owned-bucket update that nft refused", async () => {
  const { runner, make } = setup();
  const a = make();
  await a.apply(base);
  runner.fail = "Error: Could not process rule: No such file or directory";
  await assert.rejects(
    a.apply({ ...base, owned: { ...base.owned, web: [1] } }),
    /updating the owned buckets and renewing the bucket leases in "appliance" failed: .*\(a table, set or interface it names is missing/,
  );
});

Deno.test("apply() names a missing interface and touches nothing", async () => {
  const { runner, make } = setup({ iface: "eth9" });
  const a = make();
  runner.take();
  await assert.rejects(
    a.apply(base),
    /cannot filter on interface "eth9": interface not found \(see: ip link\)/,
  );
  assert.deepEqual(runner.take(), []);
});

Deno.test("apply() uses the lease and seed it is given", async () => {
  const { runner, make } = setup({ leaseMs: 120, seed: 7 });
  const a = make();
  await a.apply(base);
  const full = runner.take()[1];
  assert.match(full, /set lease \{[^}]*elements = \{ 198\.18\.0\.10 timeout 120ms \}/);
  assert.match(full, /set owned_web \{[^}]*elements = \{ 1, 2, 3 \}/);
  assert.match(full, /seed 0x00000007/);
});

Deno.test("leaseFor() stays one heartbeat under the peers' detection time", () => {
  assert.equal(leaseFor(cfg.heartbeat), 200);
  assert.ok(leaseFor(cfg.heartbeat) < cfg.heartbeat.deadMisses * cfg.heartbeat.periodMs);
  assert.equal(leaseFor({ ...cfg.heartbeat, periodMs: 100, deadMisses: 8 }), 700);
});

Deno.test("counters() adds up what replaced tables counted", async () => {
  const { runner, clock, make } = setup();
  const a = make();
  assert.deepEqual(await a.counters(), {});
  await a.apply(base);
  runner.counters = [
    { family: "ip", table: "appliance", name: "rule_web", packets: 3, bytes: 180 },
    { family: "netdev", table: "appliance", name: "ingress_set_host", packets: 9, bytes: 540 },
    { family: "ip", table: "other", name: "rule_web", packets: 100, bytes: 1 },
    { family: "inet", table: "appliance", name: "rule_web", packets: 100, bytes: 1 },
  ];
  assert.deepEqual(await a.counters(), {
    rule_web: { packets: 3, bytes: 180 },
    ingress_set_host: { packets: 9, bytes: 540 },
  });
  clock.advance(1);
  await a.apply({ ...base, defaultHost: false }); // full apply: the kernel's counters restart
  runner.counters = [
    { family: "ip", table: "appliance", name: "rule_web", packets: 1, bytes: 60 },
  ];
  assert.deepEqual(await a.counters(), {
    rule_web: { packets: 4, bytes: 240 },
    ingress_set_host: { packets: 9, bytes: 540 },
  });
});

Deno.test("parseCounters() reads nft -j output, one document per line", () => {
  const doc = (name: string, family: string) =>
    JSON.stringify({
      nftables: [{ metainfo: { version: "1.0.6" } }, {
        counter: { family, name, table: "appliance", handle: 2, packets: 1, bytes: 2 },
      }],
    });
  const json = `${doc("a", "ip")}\n${doc("b", "netdev")}\n${doc("c", "inet")}\n`;
  assert.deepEqual(parseCounters(json, "appliance"), {
    a: { packets: 1, bytes: 2 },
    b: { packets: 1, bytes: 2 },
  });
});

Deno.test("apply() with a hand-off releases and forwards the buckets in one script", async () => {
  const { runner, clock, make } = setup();
  const a = make();
  await a.apply(base);
  runner.take();
  clock.advance(1);
  const moved = { ...base, owned: { ...base.owned, web: [1] } };
  const two = { bucket: 2, to: "10.0.0.2", ms: 400 },
    three = { bucket: 3, to: "10.0.0.3", ms: 400 };
  await a.apply(moved, { web: [two, three] });
  const handoff = [
    { rule: "web", bucket: 2, to: "10.0.0.2", timeoutMs: 400 },
    { rule: "web", bucket: 3, to: "10.0.0.3", timeoutMs: 400 },
  ];
  const want = { ...input(moved), handoff };
  assert.deepEqual(runner.take(), [
    renderOwnedUpdate(want) + renderLeaseRefresh(want) + renderHandoffUpdate(want),
  ]);

  // 150 ms later bucket 1 goes too: the list comes whole, each entry with the time it has left.
  clock.advance(150);
  const none = { ...base, owned: { ...base.owned, web: [] } };
  await a.apply(none, {
    web: [{ ...two, ms: 250 }, { ...three, ms: 249.2 }, { bucket: 1, to: "10.0.0.2", ms: 400 }],
  });
  const [script] = runner.take();
  assert.match(
    script,
    /handoff_web \{\n\t2 timeout 250ms : 10\.0\.0\.2, 3 timeout 250ms : 10\.0\.0\.3, 1 timeout 400ms : 10\.0\.0\.2\n\}/,
  );

  // The same buckets and targets with less time left: the kernel's timeouts run on, no write.
  clock.advance(1);
  await a.apply(none, {
    web: [{ ...two, ms: 249 }, { ...three, ms: 249 }, { bucket: 1, to: "10.0.0.2", ms: 399 }],
  });
  assert.deepEqual(runner.take(), []);

  // A full install carries the list as the core last gave it.
  await a.apply({ ...none, defaultHost: false }, { web: [{ bucket: 1, to: "10.0.0.2", ms: 100 }] });
  const full = runner.take().at(-1)!;
  assert.match(full, /elements = \{ 1 timeout 100ms : 10\.0\.0\.2 \}/);
  assert.doesNotMatch(full, /: 10\.0\.0\.3/);
});

Deno.test("a bucket left out of the list is no longer forwarded; clear() forgets the list", async () => {
  const { runner, clock, make } = setup();
  const a = make();
  await a.apply(base);
  clock.advance(1);
  const released = { ...base, owned: { ...base.owned, web: [] } };
  const entry = (bucket: number) => ({ bucket, to: "10.0.0.2", ms: 400 });
  await a.apply(released, { web: [1, 2, 3].map(entry) });
  runner.take();
  await a.apply(released, { web: [1, 3].map(entry) });
  const [script] = runner.take();
  assert.match(
    script,
    /flush map ip appliance handoff_web\nadd element ip appliance handoff_web \{ 1 timeout 400ms : 10\.0\.0\.2, 3 timeout 400ms : 10\.0\.0\.2 \}/,
  );
  await a.apply(released);
  assert.match(
    runner.take()[0],
    /flush map ip appliance handoff_web\n(?!add element ip appliance handoff_web)/,
  );
  await a.apply(released, { web: [1].map(entry) });
  await a.clear();
  runner.take();
  await a.apply({ ...released, defaultHost: false });
  assert.doesNotMatch(runner.take().at(-1)!, /: 10\.0\.0\.2/);
});
