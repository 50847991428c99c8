import assert from "node:assert/strict";
import { type ClusterConfig, DEFAULT_RULE, type PortRule } from "../../../agent/cluster/config.ts";
import { shares } from "../../../agent/cluster/bucket_map.ts";
import {
  bucketsMoved,
  computeView,
  EMPTY_DIGEST,
  emptyView,
  fromSnapshot,
  membersDigest,
  ruleWeights,
  topPriority,
  toSnapshot,
  viewDigest,
} from "../../../agent/cluster/view.ts";
import { hostId, makeConfig } from "../../_fakes/cluster_fixtures.ts";

function rule(id: string, patch: Partial<PortRule> = {}): PortRule {
  return { ...DEFAULT_RULE, id, ...patch };
}

/** `n` hosts and `r` multiple rules on disjoint ports (plus a single and a disabled one). */
function configWithRules(n: number, r: number, buckets = 1024): ClusterConfig {
  const rules = Array.from({ length: r }, (_, i) =>
    rule(`r${i}`, {
      portLo: 1000 * (i + 1),
      portHi: 1000 * (i + 1) + 99,
      load: i % 2 ? "weighted" : "equal",
    }));
  rules.push(rule("ssh", { portLo: 22, portHi: 22, mode: "single" }));
  rules.push(rule("off", { portLo: 23, portHi: 23, mode: "disabled" }));
  const c = makeConfig(n, { rules, buckets });
  c.hosts.forEach((h, i) => h.weight = 1 + ((i * 37) % 100));
  return c;
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => hostId(i + 1));

Deno.test("computeView() maps every multiple rule and only those", () => {
  const c = configWithRules(3, 2);
  const v = computeView(emptyView(), c, ids(3), 1);
  assert.deepEqual(Object.keys(v.maps).sort(), ["r0", "r1"]);
  for (const m of Object.values(v.maps)) {
    assert.equal(m.length, 1024);
    assert.deepEqual([...shares(m).keys()].sort(), ids(3));
  }
  assert.equal(v.epoch, 1);
});

Deno.test("computeView() sorts and de-duplicates members", () => {
  const c = makeConfig(3);
  const v = computeView(emptyView(), c, [103, 101, 103, 102], 4);
  assert.deepEqual(v.members, [101, 102, 103]);
  assert.deepEqual(v.viewDigest, computeView(emptyView(), c, [101, 102, 103], 4).viewDigest);
});

Deno.test("computeView() gives weight-0 hosts no buckets but keeps them as members", () => {
  const c = makeConfig(3);
  c.hosts[1].weight = 0;
  const v = computeView(emptyView(), c, ids(3), 1);
  assert.deepEqual(v.members, ids(3));
  assert.equal(shares(v.maps.default).get(102), undefined);
  assert.equal(shares(v.maps.default).get(101), 512);
});

Deno.test("computeView() of 32 hosts x 8 rules from scratch maps every bucket (bench-like)", () => {
  const c = configWithRules(32, 8, 4096);
  const v = computeView(emptyView(), c, ids(32), 1);
  assert.equal(Object.keys(v.maps).length, 8);
  for (const [id, m] of Object.entries(v.maps)) {
    const s = shares(m);
    assert.equal(s.size, 32, id);
    assert.equal([...s.values()].reduce((a, b) => a + b), 4096, id);
  }
});

Deno.test("computeView() is deterministic: the same inputs give the same view", () => {
  const c = configWithRules(9, 3);
  const a = computeView(emptyView(), c, ids(9), 3);
  const b = computeView(emptyView(), structuredClone(c), [...ids(9)].reverse(), 3);
  assert.deepEqual(b, a);
});

Deno.test("computeView() starts afresh when the base map has another bucket count", () => {
  const c = makeConfig(2);
  const base = { maps: { default: new Uint32Array(256).fill(101) } };
  const v = computeView(base, c, ids(2), 1);
  assert.equal(v.maps.default.length, 1024);
  assert.deepEqual(shares(v.maps.default), new Map([[101, 512], [102, 512]]));
});

Deno.test("viewDigest changes when a map changes, membersDigest does not", () => {
  const c = makeConfig(3);
  const v = computeView(emptyView(), c, ids(3), 1);
  const maps = { default: v.maps.default.slice() };
  maps.default[0] = maps.default[0] === 101 ? 102 : 101;
  assert.notDeepEqual(viewDigest(v.members, maps), v.viewDigest);
  assert.deepEqual(membersDigest(v.members), v.membersDigest);
});

Deno.test("both digests change when the members change", () => {
  const c = makeConfig(3);
  const a = computeView(emptyView(), c, ids(3), 1);
  const b = computeView(a, c, ids(2), 2);
  assert.notDeepEqual(b.membersDigest, a.membersDigest);
  assert.notDeepEqual(b.viewDigest, a.viewDigest);
});

Deno.test("viewDigest changes when a rule is added, even with the same members", () => {
  const c = makeConfig(2);
  const a = computeView(emptyView(), c, ids(2), 1);
  const b = computeView(a, { ...c, rules: [...c.rules, rule("web", { portLo: 80 })] }, ids(2), 1);
  assert.notDeepEqual(b.viewDigest, a.viewDigest);
  assert.deepEqual(b.membersDigest, a.membersDigest);
});

Deno.test("membersDigest ignores maps and depends on the member set", () => {
  assert.deepEqual(membersDigest([101, 102]), membersDigest([101, 102]));
  assert.notDeepEqual(membersDigest([101, 102]), membersDigest([101, 103]));
  assert.notDeepEqual(membersDigest([101]), EMPTY_DIGEST);
  assert.equal(membersDigest([]).length, 8);
});

Deno.test("emptyView() has epoch 0 and zero digests", () => {
  assert.deepEqual(emptyView(), {
    epoch: 0,
    members: [],
    maps: {},
    membersDigest: new Uint8Array(8),
    viewDigest: new Uint8Array(8),
  });
});

Deno.test("ruleWeights() is 1 per host for equal load, the weight for weighted, none for 0", () => {
  const c = makeConfig(3);
  c.hosts[0].weight = 10;
  c.hosts[2].weight = 0;
  const members = [...ids(3), 999]; // 999 is not in the config
  assert.deepEqual(ruleWeights(c, rule("e"), members), new Map([[101, 1], [102, 1]]));
  assert.deepEqual(
    ruleWeights(c, rule("w", { load: "weighted" }), members),
    new Map([[101, 10], [102, 50]]),
  );
});

Deno.test("bucketsMoved() sums over rules both views have", () => {
  const c = makeConfig(3);
  const a = computeView(emptyView(), c, ids(3), 1);
  const b = computeView(a, c, ids(2), 2);
  const lost = shares(a.maps.default).get(103)!;
  assert.equal(bucketsMoved(a, b), lost);
  assert.equal(bucketsMoved(emptyView(), b), 0);
});

Deno.test("toSnapshot() and fromSnapshot() round-trip the maps", () => {
  const c = configWithRules(4, 2);
  const v = computeView(emptyView(), c, ids(4), 6);
  const snap = toSnapshot(v, 3);
  assert.equal(snap.epoch, 6);
  assert.equal(snap.configVersion, 3);
  assert.deepEqual(snap.members, ids(4));
  const wire = JSON.parse(JSON.stringify(snap));
  assert.deepEqual(fromSnapshot(wire, 1024), { maps: v.maps });
  assert.deepEqual(viewDigest(wire.members, v.maps), v.viewDigest);
});

Deno.test("fromSnapshot() rejects a map of the wrong length, naming the rule", () => {
  const snap = { epoch: 1, configVersion: 1, members: [101], maps: { web: [101, 101] } };
  const r = fromSnapshot(snap, 1024);
  assert.equal(typeof r, "string");
  assert.ok((r as string).includes("map web"), r as string);
  assert.equal(
    typeof fromSnapshot({ ...snap, maps: { web: new Array(1025).fill(101) } }, 1024),
    "string",
  );
});

Deno.test("fromSnapshot() rejects a negative or fractional epoch and a map that is no array", () => {
  const maps = { web: new Array(256).fill(101) };
  assert.equal(
    typeof fromSnapshot({ epoch: -1, configVersion: 1, members: [], maps }, 256),
    "string",
  );
  assert.equal(
    typeof fromSnapshot({ epoch: 1.5, configVersion: 1, members: [], maps }, 256),
    "string",
  );
  const notArray = {
    epoch: 1,
    configVersion: 1,
    members: [],
    maps: { web: "x" as unknown as number[] },
  };
  assert.equal(typeof fromSnapshot(notArray, 256), "string");
  assert.deepEqual(fromSnapshot({ epoch: 1, configVersion: 1, members: [], maps }, 256), {
    maps: { web: new Uint32Array(256).fill(101) },
  });
});

Deno.test("topPriority() picks the member with the lowest priority number", () => {
  const c = makeConfig(4);
  // Priorities h1..h4 = 9, 5, 2, 4: neither config order nor id order.
  c.hosts[0].priority = 9;
  c.hosts[1].priority = 5;
  c.hosts[2].priority = 2;
  assert.equal(topPriority(c, ids(4)), 103);
  assert.equal(topPriority(c, [101, 102]), 102);
  assert.equal(topPriority(c, [101]), 101);
  assert.equal(topPriority(c, []), undefined);
  assert.equal(topPriority(c, [999]), undefined);
});
