import assert from "node:assert/strict";
import {
  addRule,
  type EditResult,
  finishEdit,
  flatten,
  formatPorts,
  getKey,
  parseAssignment,
  parsePorts,
  removeRule,
  setKeys,
  setRule,
  SETTABLE_KEYS,
} from "../../agent/config_edit.ts";
import { type ClusterConfig, DEFAULT_RULE, type PortRule } from "../../agent/cluster/config.ts";
import { testConfig } from "./cli/_temp_state.ts";

const WEB: PortRule = { ...DEFAULT_RULE, id: "web", portLo: 80, portHi: 443, protocol: "tcp" };

function ok(r: EditResult): { changed: boolean; config: ClusterConfig } {
  if (!r.ok) throw new Error(`expected ok, got: ${r.problems.join("; ")}`);
  return r;
}

function problems(r: EditResult): string[] {
  if (r.ok) throw new Error("expected the edit to be refused");
  return r.problems;
}

function withWeb(): ClusterConfig {
  return ok(addRule(testConfig(), WEB)).config;
}

Deno.test("parsePorts() reads a single port and a range", () => {
  assert.deepEqual(parsePorts("443"), { portLo: 443, portHi: 443 });
  assert.deepEqual(parsePorts("8000-8080"), { portLo: 8000, portHi: 8080 });
  assert.deepEqual(parsePorts("0-65535"), { portLo: 0, portHi: 65535 });
});

Deno.test("parsePorts() says what is wrong with a bad range", () => {
  for (const bad of ["", "http", "80-", "-80", "443-80", "70000", "1-65536", "80,443"]) {
    const r = parsePorts(bad);
    assert.equal(typeof r, "string", bad);
    assert.match(r as string, /ports must be PORT or LO-HI within 0-65535/);
    assert.ok((r as string).includes(`"${bad}"`));
  }
});

Deno.test("formatPorts() prints a one-port range as the port", () => {
  assert.equal(formatPorts({ portLo: 53, portHi: 53 }), "53");
  assert.equal(formatPorts({ portLo: 0, portHi: 65535 }), "0-65535");
});

Deno.test("addRule() appends the rule and bumps the version", () => {
  const { changed, config } = ok(addRule(testConfig(), WEB));
  assert.equal(changed, true);
  assert.equal(config.version, 2);
  assert.deepEqual(config.rules.map((r) => r.id), ["default", "web"]);
  assert.deepEqual(config.rules[1], WEB);
});

Deno.test("addRule() does not change the config it was given", () => {
  const before = testConfig();
  const copy = structuredClone(before);
  addRule(before, WEB);
  assert.deepEqual(before, copy);
});

Deno.test("addRule() refuses an id that exists and points to rules set", () => {
  const [p] = problems(addRule(withWeb(), { ...WEB, portLo: 9000, portHi: 9000 }));
  assert.match(p, /rule "web" already exists: change it with `appliance rules set web`/);
});

Deno.test("addRule() refuses a rule overlapping another, naming both", () => {
  const [p] = problems(addRule(withWeb(), { ...WEB, id: "api", portLo: 443, portHi: 8443 }));
  assert.equal(p, "rules web and api overlap; give them disjoint port ranges");
});

Deno.test("addRule() accepts the same ports on another protocol", () => {
  const udp = { ...WEB, id: "quic", protocol: "udp" as const };
  assert.equal(ok(addRule(withWeb(), udp)).config.rules.length, 3);
});

Deno.test("addRule() refuses a bad id with validateRule's reason", () => {
  const [p] = problems(addRule(testConfig(), { ...WEB, id: "Web Server" }));
  assert.match(p, /rule id "Web Server" must be 1-32 of a-z 0-9 _ -/);
});

Deno.test("setRule() changes only the given fields and bumps the version", () => {
  const { config } = ok(setRule(withWeb(), "web", { mode: "single", load: undefined }));
  assert.equal(config.version, 3);
  assert.deepEqual(config.rules[1], { ...WEB, mode: "single" });
});

Deno.test("setRule() with the values the rule has keeps the version", () => {
  const before = withWeb();
  const r = ok(setRule(before, "web", { protocol: "tcp", portLo: 80, portHi: 443 }));
  assert.equal(r.changed, false);
  assert.equal(r.config.version, before.version);
  assert.equal(r.config, before);
});

Deno.test("setRule() names an unknown rule and lists the existing ids", () => {
  const [p] = problems(setRule(withWeb(), "api", { mode: "single" }));
  assert.equal(p, 'no rule "api": the rules are default, web (see: appliance rules list)');
});

Deno.test("setRule() refuses a range that makes rules overlap", () => {
  const config = ok(addRule(withWeb(), { ...WEB, id: "api", portLo: 8000, portHi: 8080 })).config;
  const [p] = problems(setRule(config, "api", { portLo: 400, portHi: 8080 }));
  assert.match(p, /rules web and api overlap/);
});

Deno.test("removeRule() removes the rule and bumps the version", () => {
  const { config } = ok(removeRule(withWeb(), "web"));
  assert.equal(config.version, 3);
  assert.deepEqual(config.rules.map((r) => r.id), ["default"]);
});

Deno.test("removeRule() may remove the default rule", () => {
  const { config } = ok(removeRule(withWeb(), "default"));
  assert.deepEqual(config.rules.map((r) => r.id), ["web"]);
});

Deno.test("removeRule() names an unknown rule", () => {
  assert.match(
    problems(removeRule(testConfig(), "web"))[0],
    /no rule "web": the rules are default/,
  );
});

Deno.test("finishEdit() keeps the version when nothing changed", () => {
  const c = testConfig();
  const r = ok(finishEdit(c, structuredClone(c)));
  assert.equal(r.changed, false);
  assert.equal(r.config.version, 1);
});

Deno.test("parseAssignment() splits at the first =", () => {
  assert.deepEqual(parseAssignment("mode=failover"), ["mode", "failover"]);
  assert.deepEqual(parseAssignment("clusterIp=a=b"), ["clusterIp", "a=b"]);
  assert.deepEqual(parseAssignment("buckets="), ["buckets", ""]);
  assert.match(parseAssignment("buckets") as string, /"buckets" is not KEY=VALUE/);
  assert.match(parseAssignment("=5") as string, /is not KEY=VALUE/);
});

Deno.test("setKeys() parses numbers and strings by the key's type", () => {
  const { config } = ok(
    setKeys(testConfig(), [
      ["heartbeat.periodMs", "100"],
      ["heartbeat.suspectMisses", "4"],
      ["heartbeat.deadMisses", "8"],
      ["heartbeat.port", "8946"],
      ["peerPort", "8947"],
      ["buckets", "2048"],
      ["mode", "failover"],
      ["clusterIp", "198.18.0.20"],
      ["drainTimeoutMs", "30000"],
    ]),
  );
  assert.equal(config.version, 2);
  assert.deepEqual(config.heartbeat, {
    periodMs: 100,
    suspectMisses: 4,
    deadMisses: 8,
    port: 8946,
  });
  assert.equal(config.peerPort, 8947);
  assert.equal(config.buckets, 2048);
  assert.equal(config.mode, "failover");
  assert.equal(config.clusterIp, "198.18.0.20");
  assert.equal(config.drainTimeoutMs, 30000);
});

Deno.test("setKeys() takes a duration for the keys in milliseconds", () => {
  const { config } = ok(
    setKeys(testConfig(), [["drainTimeoutMs", "2m"], ["heartbeat.periodMs", "0.1s"]]),
  );
  assert.equal(config.drainTimeoutMs, 120_000);
  assert.equal(config.heartbeat.periodMs, 100);
});

Deno.test("setKeys() refuses a value that is not a whole number", () => {
  const ps = problems(setKeys(testConfig(), [["buckets", "lots"], ["peerPort", "1.5"]]));
  assert.deepEqual(ps, [
    'buckets must be a whole number, got "lots"',
    'peerPort must be a whole number, got "1.5"',
  ]);
  assert.match(
    problems(setKeys(testConfig(), [["drainTimeoutMs", "soon"]]))[0],
    /drainTimeoutMs must be milliseconds or a duration such as 500ms, 30s or 2m, got "soon"/,
  );
});

Deno.test("setKeys() refuses an empty string value", () => {
  assert.match(problems(setKeys(testConfig(), [["mode", ""]]))[0], /mode needs a value/);
});

Deno.test("setKeys() reports each validation problem of the result", () => {
  const ps = problems(
    setKeys(testConfig(), [["heartbeat.deadMisses", "3"], ["clusterIp", "10.0.0"], [
      "mode",
      "active",
    ]]),
  );
  assert.ok(ps.includes('clusterIp "10.0.0" is not an IPv4 address'));
  assert.ok(ps.includes("mode must be shared or failover"));
  assert.ok(ps.includes("heartbeat.deadMisses must be 5..100 (5 is NLB's floor)"));
  assert.ok(ps.includes("heartbeat.suspectMisses must be smaller than heartbeat.deadMisses"));
});

Deno.test("setKeys() names an unknown key and lists the settable ones", () => {
  const [p] = problems(setKeys(testConfig(), [["heartbeat.interval", "5"]]));
  assert.equal(p, `unknown key "heartbeat.interval"; settable keys: ${SETTABLE_KEYS.join(", ")}`);
  assert.match(p, /heartbeat\.periodMs, .*hosts\.NAME\.priority, hosts\.NAME\.weight/);
});

Deno.test("setKeys() says why version and clusterId are not settable", () => {
  const [v, id] = problems(setKeys(testConfig(), [["version", "9"], ["clusterId", "00"]]));
  assert.match(v, /^version is not settable: every edit bumps it by one; settable keys:/);
  assert.match(id, /^clusterId is not settable: it is fixed at init/);
});

Deno.test("setKeys() points rules and hosts to their own commands", () => {
  assert.match(problems(setKeys(testConfig(), [["rules", "x"]]))[0], /appliance rules add/);
  assert.match(problems(setKeys(testConfig(), [["hosts", "x"]]))[0], /appliance join/);
});

Deno.test("setKeys() sets a host's priority and weight by host name", () => {
  const { config } = ok(setKeys(testConfig(), [["hosts.h2.weight", "80"], [
    "hosts.h3.priority",
    "7",
  ]]));
  assert.equal(config.hosts[1].weight, 80);
  assert.equal(config.hosts[2].priority, 7);
});

Deno.test("setKeys() checks all keys together, so two hosts can swap priorities", () => {
  const { config } = ok(
    setKeys(testConfig(), [["hosts.h1.priority", "2"], ["hosts.h2.priority", "1"]]),
  );
  assert.deepEqual(config.hosts.map((h) => h.priority), [2, 1, 3]);
  const [p] = problems(setKeys(testConfig(), [["hosts.h1.priority", "2"]]));
  assert.match(p, /priority 2 is used twice/);
});

Deno.test("setKeys() names an unknown host and lists the hosts", () => {
  const [p] = problems(setKeys(testConfig(), [["hosts.h9.weight", "1"]]));
  assert.match(p, /no host named "h9" in the config: the hosts are h1, h2, h3/);
});

Deno.test("setKeys() refuses host fields other than priority and weight", () => {
  const [p] = problems(setKeys(testConfig(), [["hosts.h2.address", "198.18.0.9"]]));
  assert.match(p, /hosts\.h2\.address is not settable: of a host, only priority and weight are/);
});

Deno.test("setKeys() refuses a key given twice", () => {
  const [p] = problems(setKeys(testConfig(), [["buckets", "512"], ["buckets", "256"]]));
  assert.equal(p, "buckets is given twice: give each key once");
});

Deno.test("setKeys() with the current values keeps the version", () => {
  const r = ok(setKeys(testConfig(), [["buckets", "1024"], ["heartbeat.periodMs", "50ms"]]));
  assert.equal(r.changed, false);
  assert.equal(r.config.version, 1);
});

Deno.test("setKeys() does not change the config it was given", () => {
  const before = testConfig();
  const copy = structuredClone(before);
  setKeys(before, [["heartbeat.periodMs", "100"], ["hosts.h1.weight", "10"]]);
  assert.deepEqual(before, copy);
});

Deno.test("getKey() reads top-level, nested, host and rule keys", () => {
  const c = withWeb();
  assert.deepEqual(getKey(c, "buckets"), { value: 1024 });
  assert.deepEqual(getKey(c, "heartbeat.periodMs"), { value: 50 });
  assert.deepEqual(getKey(c, "heartbeat"), { value: c.heartbeat });
  assert.deepEqual(getKey(c, "hosts"), { value: c.hosts });
  assert.deepEqual(getKey(c, "hosts.h2"), { value: c.hosts[1] });
  assert.deepEqual(getKey(c, "hosts.h2.address"), { value: "198.18.0.2" });
  assert.deepEqual(getKey(c, "rules.web"), { value: WEB });
  assert.deepEqual(getKey(c, "rules.web.protocol"), { value: "tcp" });
});

Deno.test("getKey() says what is wrong with an unknown key", () => {
  const c = testConfig();
  assert.match(getKey(c, "heartbeat.rate") as string, /unknown key "heartbeat.rate": keys are/);
  assert.match(getKey(c, "toString") as string, /unknown key "toString"/);
  assert.match(getKey(c, "hosts.h9") as string, /no host named "h9"/);
  assert.match(getKey(c, "rules.web") as string, /no rule "web"/);
  assert.match(getKey(c, "rules.default.color") as string, /rules.default has no field "color"/);
});

Deno.test("flatten() keys hosts by name and rules by id", () => {
  const lines = flatten(testConfig());
  assert.deepEqual(lines[0], ["version", "1"]);
  const map = new Map(lines);
  assert.equal(map.get("heartbeat.periodMs"), "50");
  assert.equal(map.get("hosts.h2.address"), "198.18.0.2");
  assert.equal(map.get("rules.default.portHi"), "65535");
  assert.deepEqual(flatten(50, "buckets"), [["buckets", "50"]]);
  assert.deepEqual(flatten([], "hosts"), []);
});
