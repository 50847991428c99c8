import assert from "node:assert/strict";
import { call, fake, login, request } from "../_fake_deps.ts";

Deno.test("GET /api/replication answers the agent's replication status", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "GET", "/api/replication");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), f.replication.status);
});

Deno.test("GET /api/replication without a replication port answers enabled: false", async () => {
  const f = fake({ replication: undefined });
  const c = await login(f.app);
  const res = await call(f.app, c, "GET", "/api/replication");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.enabled, false);
  assert.deepEqual([body.hosts, body.history, body.exporter], [[], [], null]);
});

Deno.test("GET /api/replication is 503 with the reason when the status cannot be read", async () => {
  const f = fake();
  f.deps.replication!.status = () => Promise.reject(new Error("web2 did not answer"));
  const c = await login(f.app);
  const res = await call(f.app, c, "GET", "/api/replication");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), {
    error: "cannot read the replication status: web2 did not answer",
  });
});

Deno.test("GET /api/replication needs a session", async () => {
  const res = await request(fake().app, "/api/replication");
  assert.equal(res.status, 401);
});

Deno.test("POST /api/replication/now publishes, logs the action and answers the agent's message", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/replication/now", {});
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    ok: true,
    message: "generation 6 offered: 3 files changed",
  });
  assert.deepEqual(f.replication.calls, [["now", false, "panel:admin@192.0.2.7"]]);
  assert.deepEqual(f.actions.at(-1), {
    who: "admin",
    from: "192.0.2.7",
    message: "publish now: generation 6 offered: 3 files changed",
  });
});

Deno.test("POST /api/replication/now with confirm releases the held generation; no body is {}", async () => {
  const f = fake();
  const c = await login(f.app);
  assert.equal(
    (await call(f.app, c, "POST", "/api/replication/now", { confirm: true })).status,
    200,
  );
  assert.match(f.actions.at(-1)!.message, /^publish now, releasing the held generation: /);
  assert.equal((await call(f.app, c, "POST", "/api/replication/now")).status, 200);
  assert.deepEqual(f.replication.calls.map((x) => x[1]), [true, false]);
});

Deno.test("POST /api/replication/now refuses a non-boolean confirm and unknown fields, naming them", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/replication/now", { confirm: "yes", force: 1 });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), {
    error: '2 problems: unknown field "force": use confirm; confirm must be true or false, ' +
      'got "yes"',
    problems: ['unknown field "force": use confirm', 'confirm must be true or false, got "yes"'],
  });
  assert.deepEqual(f.replication.calls, []);
});

Deno.test("state changes under /api/replication need the CSRF token", async () => {
  const f = fake();
  const c = await login(f.app);
  for (const [path, json] of [["now", {}], ["rollback", { gen: 3 }], ["exporter", {}]] as const) {
    const res = await request(f.app, `/api/replication/${path}`, {
      method: "POST",
      headers: { cookie: c.cookie },
      json,
    });
    assert.equal(res.status, 403, path);
    assert.match((await res.json()).error, /x-csrf-token/);
  }
  assert.deepEqual(f.replication.calls, []);
});

Deno.test("POST /api/replication/rollback re-publishes a kept generation and logs it", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/replication/rollback", { gen: 3 });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    ok: true,
    gen: 6,
    rollbackOf: 3,
    message: "generation 6 re-publishes 3",
  });
  assert.deepEqual(f.replication.calls, [["rollback", 3, "panel:admin@192.0.2.7"]]);
  assert.equal(f.actions.at(-1)!.message, "rollback to generation 3: generation 6 re-publishes 3");
});

Deno.test("POST /api/replication/rollback needs gen as a positive integer", async () => {
  const f = fake();
  const c = await login(f.app);
  for (const gen of [undefined, 0, -2, 1.5, "3", null]) {
    const res = await call(f.app, c, "POST", "/api/replication/rollback", { gen });
    assert.equal(res.status, 400, String(gen));
    assert.match((await res.json()).error, /^gen must be a positive integer/);
  }
  const notJson = await call(f.app, c, "POST", "/api/replication/rollback");
  assert.equal(notJson.status, 400);
  assert.deepEqual(await notJson.json(), { error: "the request body must be a JSON object" });
  assert.deepEqual(f.replication.calls, []);
});

Deno.test("a refusal from the agent is a 409 with its reason, and is logged", async () => {
  const f = fake();
  f.replication.refuse = "generation 2 is no longer kept: the kept ones are 3, 4 and 5";
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/replication/rollback", { gen: 2 });
  assert.equal(res.status, 409);
  assert.deepEqual(await res.json(), {
    error: "rollback to generation 2 refused: " +
      "generation 2 is no longer kept: the kept ones are 3, 4 and 5",
  });
  assert.match(f.actions.at(-1)!.message, /^rollback to generation 2 refused: generation 2/);
});

Deno.test("POST /api/replication/exporter moves the exporter, without the source's trailing slash", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/replication/exporter", {
    host: "web2",
    source: "/srv/site/",
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    ok: true,
    host: "web2",
    source: "/srv/site",
    message: "web2 exports /srv/site",
  });
  assert.deepEqual(f.replication.calls, [[
    "setExporter",
    "web2",
    "/srv/site",
    "panel:admin@192.0.2.7",
  ]]);
  assert.equal(
    f.actions.at(-1)!.message,
    'move the exporter to "web2" with source /srv/site: web2 exports /srv/site',
  );
});

Deno.test("POST /api/replication/exporter names every bad field", async () => {
  const f = fake();
  const c = await login(f.app);
  const cases: [unknown, RegExp][] = [
    [{ source: "/srv/www" }, /^give host: the name of a cluster member \(web1, web2 or web3\)$/],
    [{ host: "web9", source: "/srv/www" }, /^host "web9" is not a cluster member: use web1/],
    [{ host: "web2" }, /^give source: the directory to replicate/],
    [{ host: "web2", source: "srv/www" }, /^source must be an absolute path/],
    [{ host: "web2", source: "/srv/../etc" }, /^source must not contain \. or \.\. segments/],
    [{ host: "web2", source: "/" }, /^source cannot be \/ \(the whole filesystem\)/],
    [{ host: "web2", source: "/srv/a\nb" }, /^source must not contain control characters$/],
    [{ host: 7, source: 7, dir: "/x" }, /^3 problems: unknown field "dir"/],
  ];
  for (const [json, error] of cases) {
    const res = await call(f.app, c, "POST", "/api/replication/exporter", json);
    assert.equal(res.status, 400, JSON.stringify(json));
    assert.match((await res.json()).error, error);
  }
  assert.deepEqual(f.replication.calls, []);
});

Deno.test("actions without a replication port are 409 naming the commands that enable it", async () => {
  const f = fake({ replication: undefined });
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/replication/now", {});
  assert.equal(res.status, 409);
  assert.match(
    (await res.json()).error,
    /not enabled on this agent: .*appliance init --content-source DIR.*appliance replication exporter HOST --source DIR/,
  );
  assert.deepEqual(f.actions.filter((a) => /publish/.test(a.message)), []);
});
