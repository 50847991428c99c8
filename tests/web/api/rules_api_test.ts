import assert from "node:assert/strict";
import { call, fake, login } from "../_fake_deps.ts";

Deno.test("GET /api/rules lists the rules and the config version", async () => {
  const f = fake();
  const c = await login(f.app);
  const body = await (await call(f.app, c, "GET", "/api/rules")).json();
  assert.equal(body.version, 1);
  assert.deepEqual(body.rules.map((r: { id: string }) => r.id), ["default"]);
});

Deno.test("POST /api/rules adds a rule with defaults, bumps the version and logs the action", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/rules", {
    id: "web",
    ports: "80-443",
    protocol: "tcp",
  });
  assert.equal(res.status, 201);
  assert.equal((await res.json()).version, 2);
  assert.deepEqual(f.config().rules[1], {
    id: "web",
    portLo: 80,
    portHi: 443,
    protocol: "tcp",
    mode: "multiple",
    affinity: "single",
    load: "equal",
  });
  assert.match(
    f.actions.at(-1)!.message,
    /^added rule "web" \(ports 80-443 tcp, multiple.*version 2$/,
  );
});

Deno.test("rule fields are checked: every problem in one 400, nothing saved", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/rules", {
    id: "web",
    ports: "90-80",
    mode: "some",
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.problems.length, 2);
  assert.match(body.problems[0], /^ports must be PORT or LO-HI/);
  assert.equal(body.problems[1], 'mode must be multiple, single or disabled, got "some"');
  assert.match(body.error, /^2 problems: ports must be/);
  assert.equal(f.config().version, 1);
});

Deno.test("an edit the config refuses (overlap, bad id) is 400 with the config's message", async () => {
  const f = fake();
  const c = await login(f.app);
  await call(f.app, c, "POST", "/api/rules", { id: "web", ports: "80-443" });
  const overlap = await call(f.app, c, "POST", "/api/rules", { id: "alt", ports: "443" });
  assert.equal(overlap.status, 400);
  assert.deepEqual(await overlap.json(), {
    error: "rules web and alt overlap; give them disjoint port ranges",
    problems: ["rules web and alt overlap; give them disjoint port ranges"],
  });
  const badId = await call(f.app, c, "POST", "/api/rules", { id: "Web!", ports: "8080" });
  assert.equal(badId.status, 400);
  assert.match((await badId.json()).error, /rule id "Web!" must be 1-32 of a-z 0-9/);
  const noPorts = await call(f.app, c, "POST", "/api/rules", { id: "x" });
  assert.equal(noPorts.status, 400);
  assert.match((await noPorts.json()).error, /give the rule's ports/);
  assert.equal(f.config().version, 2);
});

Deno.test("PUT /api/rules/:id changes fields; the id cannot change; unknown id is 404", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "PUT", "/api/rules/default", { load: "weighted" });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).version, 2);
  assert.equal(f.config().rules[0].load, "weighted");
  assert.match(f.actions.at(-1)!.message, /^changed rule "default"/);
  const renamed = await call(f.app, c, "PUT", "/api/rules/default", { id: "other" });
  assert.equal(renamed.status, 400);
  assert.match((await renamed.json()).error, /id cannot change/);
  const missing = await call(f.app, c, "PUT", "/api/rules/nope", { load: "equal" });
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error, 'no rule "nope": the rules are default');
});

Deno.test("DELETE /api/rules/:id removes the rule and logs it", async () => {
  const f = fake();
  const c = await login(f.app);
  await call(f.app, c, "POST", "/api/rules", { id: "dns", ports: "53", mode: "single" });
  const res = await call(f.app, c, "DELETE", "/api/rules/dns");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { version: 3, changed: true });
  assert.deepEqual(f.config().rules.map((r) => r.id), ["default"]);
  assert.equal(f.actions.at(-1)!.message, 'removed rule "dns" (ports 53 both, single): version 3');
});

Deno.test("unknown fields are refused rather than ignored", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/rules", { id: "a", ports: "1", weight: 3 });
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /unknown field "weight"/);
});
