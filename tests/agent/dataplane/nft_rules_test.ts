import assert from "node:assert/strict";
import {
  type HandoffEntry,
  orderRules,
  renderHandoffUpdate,
  renderLeaseRefresh,
  renderLeftoverCleanup,
  renderOwnedUpdate,
  renderRuleset,
  renderTeardown,
  type RulesetInput,
  seedFromClusterId,
} from "../../../agent/dataplane/nft_rules.ts";
import { config, plan, range, rule } from "./_nft_fixtures.ts";

const GOLDEN = new URL("./golden/", import.meta.url);

/** Compares `text` with golden/<name> byte for byte; UPDATE_GOLDEN=1 rewrites the file. */
async function golden(name: string, text: string) {
  const url = new URL(name, GOLDEN);
  if (Deno.env.get("UPDATE_GOLDEN") === "1") {
    await Deno.writeTextFile(url, text);
    return;
  }
  let want: string;
  try {
    want = await Deno.readTextFile(url);
  } catch {
    throw new Error(`golden/${name} is missing: run with UPDATE_GOLDEN=1, then review it`);
  }
  assert.equal(text, want, `golden/${name} differs (UPDATE_GOLDEN=1 rewrites it; review the diff)`);
}

function input(over: Partial<RulesetInput> = {}): RulesetInput {
  return {
    config: config(),
    plan: plan(),
    iface: "eth1",
    leaseMs: 200,
    seed: seedFromClusterId("c0ffee0012345678"),
    ...over,
  };
}

/** web (tcp 80, affinity none), dns (udp 53, single), default (network): one per affinity. */
const affinities = input({
  config: config([
    rule("default", "both", 0, 65535, "multiple", "network"),
    rule("dns", "udp", 53, 53, "multiple", "single"),
    rule("web", "tcp", 80, 80, "multiple", "none"),
  ]),
  plan: plan({
    owned: { web: [9, 3, 4, 5, 6, 7, 12, 13, 1023], dns: [0], default: range(0, 511) },
  }),
});

/** Every mode: single owned and not, disabled, a both-protocol range; not the default host. */
const modes = input({
  config: config([
    rule("default", "both", 0, 65535, "disabled"),
    rule("admin", "tcp", 8443, 8443, "single"),
    rule("mail", "tcp", 25, 25, "single"),
    rule("ssh", "tcp", 22, 22, "disabled"),
    rule("game", "both", 27000, 27015, "multiple", "none"),
  ]),
  plan: plan({
    owned: { game: [1, 2, 3] },
    single: { admin: true, mail: false },
    defaultHost: false,
  }),
});

Deno.test("renderRuleset() renders one chain per multiple rule with each affinity's hash", async () => {
  await golden("affinities.nft", renderRuleset(affinities));
});

Deno.test("renderRuleset() renders single, disabled and both-protocol rules", async () => {
  await golden("modes.nft", renderRuleset(modes));
});

/** What a drainstop leaves: buckets of two rules forwarded to two peers, 400 and 120 ms left. */
const draining: RulesetInput = {
  ...affinities,
  plan: { ...affinities.plan, accepting: false },
  handoff: [
    ...[3, 4, 5, 6, 7, 9].map((bucket) => ({
      rule: "web",
      bucket,
      to: "198.18.0.12",
      timeoutMs: 400,
    })),
    { rule: "web", bucket: 12, to: "198.18.0.13", timeoutMs: 400 },
    { rule: "web", bucket: 13, to: "198.18.0.13", timeoutMs: 120 },
    { rule: "dns", bucket: 0, to: "198.18.0.13", timeoutMs: 400 },
  ],
};

Deno.test("renderRuleset() when not accepting: established flows, and new ones forwarded to the new owners", async () => {
  const text = renderRuleset(draining);
  await golden("not_accepting.nft", text);
  assert.doesNotMatch(text, /@owned_|accept_handed_in" accept/, "takes no new flow itself");
  assert.match(
    text,
    /map handoff_web \{[^}]*3 timeout 400ms : 198\.18\.0\.12,\s+4 timeout 400ms : 198\.18\.0\.12,\s/,
  );
  assert.match(text, /13 timeout 120ms : 198\.18\.0\.13/);
});

Deno.test("renderRuleset() for a newcomer fetching the map takes only forwarded flows", () => {
  const text = renderRuleset({ ...affinities, plan: plan({ accepting: false, joining: true }) });
  assert.match(
    text,
    /!= syn counter name "drop_not_syn" drop\n\t\tip daddr != @lease counter name "drop_lease_expired" drop\n\t\tether daddr != 03:bf:c6:12:00:0a counter name "accept_handed_in" accept\n/,
  );
  // It holds a lease, so it stops taking forwarded flows too if it hangs.
  assert.match(
    text,
    /set lease \{\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t\telements = \{ 198\.18\.0\.10 timeout 200ms \}/,
  );
  assert.match(
    renderLeaseRefresh({ ...affinities, plan: plan({ accepting: false, joining: true }) }),
    /lease \{ 198\.18\.0\.10 timeout 200ms \}/,
  );
  assert.doesNotMatch(text, /@owned_|accept_outside_rules" accept/);
  assert.match(text, /counter name "drop_not_accepting" drop\n\t\}\n\n\tchain rule_dns/);
});

Deno.test("renderRuleset() with no multiple rule, when not accepting, drops every new flow", () => {
  const text = renderRuleset({
    ...modes,
    config: config([rule("mail", "tcp", 25, 25, "single")]),
    plan: plan({ accepting: false }),
  });
  assert.match(
    text,
    /ct state invalid counter name "drop_invalid" drop\n\t\tcounter name "drop_not_accepting" drop\n\t\}/,
  );
  assert.doesNotMatch(text, /handoff|dup to/);
});

Deno.test("renderHandoffUpdate() replaces every rule's hand-off entries in one batch", async () => {
  const text = renderHandoffUpdate(draining);
  await golden("handoff_update.nft", text);
  assert.match(renderHandoffUpdate(affinities), /^flush map ip appliance handoff_dns\nflush map/);
});

Deno.test("hand-off entries with a bad address, timeout or bucket are refused", () => {
  const bad = (e: Partial<HandoffEntry>) => () =>
    renderHandoffUpdate({
      ...affinities,
      handoff: [{ rule: "web", bucket: 1, to: "198.18.0.12", timeoutMs: 400, ...e }],
    });
  assert.throws(bad({ to: "198.18.0.12; flush ruleset" }), /hand-off address .* is not an IPv4/);
  assert.throws(bad({ timeoutMs: 0 }), /hand-off timeout must be a whole number/);
  assert.throws(bad({ bucket: 1024 }), /bucket 1024 is outside 0\.\.1023/);
});

Deno.test("renderRuleset() declares an owned set without elements when no bucket is owned", async () => {
  const text = renderRuleset(input({ plan: plan({ owned: { default: [] }, defaultHost: false }) }));
  await golden("empty_owned.nft", text);
  assert.doesNotMatch(text.replace(/\tset lease \{[^}]*\}\n/, ""), /elements/);
});

Deno.test("renderRuleset() sends everything to the default host when there are no rules", async () => {
  await golden("no_rules.nft", renderRuleset(input({ config: config([]) })));
});

Deno.test("renderLeaseRefresh() renews the one lease element, whatever the plan", async () => {
  await golden("affinities_refresh.nft", renderLeaseRefresh(affinities));
  const scattered = range(0, 1023).filter((b) => b % 2 === 0);
  assert.equal(
    renderLeaseRefresh(input({ plan: plan({ owned: { default: scattered } }) })),
    renderLeaseRefresh(affinities),
  );
  // Without a `multiple` rule, the lease still guards `single` rules and the default host.
  assert.equal(renderLeaseRefresh(input({ config: config([]) })), renderLeaseRefresh(affinities));
});

Deno.test("renderLeaseRefresh() is empty when neither accepting nor joining", () => {
  assert.equal(renderLeaseRefresh({ ...affinities, plan: plan({ accepting: false }) }), "");
  assert.equal(renderLeaseRefresh(modes).includes("add element"), true);
});

Deno.test("renderOwnedUpdate() flushes and refills every owned set, wrapping long lists", async () => {
  assert.match(
    renderOwnedUpdate(affinities),
    /^flush set ip appliance owned_dns\nadd element ip appliance owned_dns \{ 0 \}\nflush set ip appliance owned_web\n/,
  );
  const scattered = range(0, 63).filter((b) => b % 3 === 0);
  const text = renderOwnedUpdate(input({ plan: plan({ owned: { default: scattered } }) }));
  await golden("scattered_owned.nft", text);
  assert.ok(text.split("\n").every((l) => l.length <= 100), "a line is longer than 100");
  assert.equal(text.match(/\b\d+\b(?=,|\n)/g)?.length, scattered.length);
  assert.doesNotMatch(text, /timeout|lease/);
  assert.equal(renderOwnedUpdate({ ...affinities, plan: plan({ accepting: false }) }), "");
  assert.equal(renderOwnedUpdate(input({ config: config([]) })), "");
});

Deno.test("renderTeardown() deletes both tables by name", async () => {
  await golden("teardown.nft", renderTeardown());
  assert.equal(renderTeardown("t1"), "delete table netdev t1\ndelete table ip t1\n");
});

Deno.test("owned buckets are single elements, in order, each once", () => {
  const text = renderOwnedUpdate(input({ plan: plan({ owned: { default: [9, 3, 4, 3, 1023] } }) }));
  assert.match(text, /owned_default \{ 3, 4, 9, 1023 \}/);
  assert.throws(
    () => renderOwnedUpdate(input({ plan: plan({ owned: { default: [1024] } }) })),
    /bucket 1024 is outside 0\.\.1023/,
  );
});

Deno.test("renderRuleset() writes each owned bucket as its own element", () => {
  const text = renderRuleset(affinities);
  assert.match(
    text,
    /set owned_web \{\n\t\ttype mark\n\t\telements = \{ 3, 4, 5, 6, 7, 9, 12, 13, 1023 \}/,
  );
  assert.match(text, /\t\t\t0, 1, 2, 3, /);
  assert.equal(text.match(/\b511\b/g)?.length, 1);
  assert.doesNotMatch(text, /flags interval/);
});
Deno.test("orderRules() puts narrower ranges first, tcp/udp before both, default last", () => {
  const rules = [
    rule("default", "both", 0, 65535, "multiple"),
    rule("wide", "both", 1000, 2000, "multiple"),
    rule("web-both", "both", 80, 80, "multiple"),
    rule("tls", "tcp", 443, 443, "single"),
    rule("web", "tcp", 80, 80, "multiple"),
    rule("narrow", "tcp", 1000, 1010, "disabled"),
  ];
  const order = orderRules(rules).map((r) => r.id);
  assert.deepEqual(order, ["web", "tls", "web-both", "narrow", "wide", "default"]);
  const text = renderRuleset(input({ config: config(rules) }));
  const at = (s: string) => text.indexOf(s);
  assert.ok(at("tcp dport 80 goto rule_web") < at("th dport 80 goto rule_web-both"));
  assert.ok(at("th dport 1000-2000 goto rule_wide") < at("meta l4proto { tcp, udp } goto"));
});

Deno.test("renderRuleset() hashes with the given seed and bucket count", () => {
  const c = config();
  c.buckets = 4096;
  const text = renderRuleset(input({ config: c, seed: 0xdeadbeef }));
  assert.match(text, /jhash ip saddr mod 4096 seed 0xdeadbeef\n/);
  assert.equal(seedFromClusterId("c0ffee0012345678"), 0xc0ffee00);
});

Deno.test("renderRuleset() refuses input that would make a broken script", () => {
  assert.throws(
    () => renderRuleset(input({ iface: 'eth1" accept' })),
    /interface name "eth1" accept" is not valid \(see: ip link\)/,
  );
  assert.throws(
    () => renderRuleset(input({ plan: plan({ owned: { default: [1024] } }) })),
    /bucket 1024 is outside 0..1023/,
  );
  assert.throws(() => renderRuleset(input({ leaseMs: 0 })), /lease must be a whole number/);
  assert.throws(() => renderRuleset(input({ table: "a b" })), /table name "a b"/);
  const bad = config();
  bad.clusterIp = "198.18.0.300";
  assert.throws(() => renderRuleset(input({ config: bad })), /not an IPv4 address/);
});

Deno.test("renderLeftoverCleanup() deletes only the tables with the exact name", () => {
  const listing = "table inet appliance2\ntable netdev appliance\ntable ip filter\n";
  assert.equal(renderLeftoverCleanup(listing), "delete table netdev appliance\n");
  assert.equal(renderLeftoverCleanup("table inet x\n"), "");
  assert.equal(
    renderLeftoverCleanup("table netdev appliance\ntable ip appliance\n"),
    "delete table netdev appliance\ndelete table ip appliance\n",
  );
  // An `inet` table: what versions before the hand-off left behind.
  assert.equal(
    renderLeftoverCleanup("table inet appliance\ntable arp appliance\n"),
    "delete table inet appliance\ndelete table arp appliance\n",
  );
});
