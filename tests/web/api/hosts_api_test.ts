import assert from "node:assert/strict";
import { call, fake, login } from "../_fake_deps.ts";

Deno.test("POST /api/hosts/:name/:command runs the command on that host and logs it", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/hosts/web2/drainstop");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true, host: "web2", command: "drainstop" });
  assert.deepEqual(f.commands, [
    { host: "web2", command: "drainstop", by: "panel:admin@192.0.2.7" },
  ]);
  assert.deepEqual(f.actions.at(-1), {
    who: "admin",
    from: "192.0.2.7",
    message: 'drainstop on host "web2"',
  });
});

Deno.test("an unknown command is 400 naming the commands; an unknown host 404 naming the hosts", async () => {
  const f = fake();
  const c = await login(f.app);
  const bad = await call(f.app, c, "POST", "/api/hosts/web2/reboot");
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), {
    error: 'unknown host command "reboot": use drainstop, stop, start, suspend or resume',
  });
  const missing = await call(f.app, c, "POST", "/api/hosts/web9/stop");
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).error, /no host named "web9".*web1, web2, web3/);
  assert.deepEqual(f.commands, []);
});

Deno.test("a refused command is 409 with the agent's reason, and the refusal is logged", async () => {
  const f = fake();
  f.refuse = "suspended: only resume is accepted";
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/hosts/web3/stop");
  assert.equal(res.status, 409);
  assert.deepEqual(await res.json(), {
    error: 'stop on "web3" refused: suspended: only resume is accepted',
  });
  assert.match(f.actions.at(-1)!.message, /^stop on host "web3" refused/);
});

Deno.test("GET on a host command is 404 JSON: only POST changes state", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "GET", "/api/hosts/web2/stop");
  assert.equal(res.status, 404);
  assert.match((await res.json()).error, /no such API endpoint/);
});
