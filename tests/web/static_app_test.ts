import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { call, fake, login, request } from "./_fake_deps.ts";
import { contentHash } from "../../web/static_app.ts";

Deno.test("/ and unknown non-API paths serve index.html pointing at hashed assets", async () => {
  const f = fake();
  for (const path of ["/", "/rules", "/some/deep/link"]) {
    const res = await request(f.app, path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type")!, /^text\/html/);
    const html = await res.text();
    assert.ok(html.includes(`/assets/app.js?v=${contentHash(f.deps.assets.js)}`));
    assert.ok(html.includes(`/assets/app.css?v=${contentHash(f.deps.assets.css)}`));
    assert.match(res.headers.get("content-security-policy")!, /script-src 'self'/);
  }
});

Deno.test("/assets/app.js is gzip when accepted, cached a year under its hash", async () => {
  const f = fake();
  const v = contentHash(f.deps.assets.js);
  const gz = await request(f.app, `/assets/app.js?v=${v}`, {
    headers: { "accept-encoding": "gzip, br" },
  });
  assert.equal(gz.headers.get("content-encoding"), "gzip");
  assert.equal(gz.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assert.equal(gz.headers.get("vary"), "Accept-Encoding");
  const bytes = new Uint8Array(await gz.arrayBuffer());
  assert.equal(new TextDecoder().decode(gunzipSync(bytes)), f.deps.assets.js);
  assert.ok(bytes.length < f.deps.assets.js.length);

  const plain = await request(f.app, "/assets/app.js");
  assert.equal(plain.headers.get("content-encoding"), null);
  assert.equal(plain.headers.get("cache-control"), "no-cache", "no hash: revalidate");
  assert.equal(await plain.text(), f.deps.assets.js);
});

Deno.test("assets answer 304 to a matching If-None-Match; unknown assets 404", async () => {
  const f = fake();
  const css = await request(f.app, "/assets/app.css");
  assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  const again = await request(f.app, "/assets/app.css", {
    headers: { "if-none-match": css.headers.get("etag")! },
  });
  assert.equal(again.status, 304);
  assert.equal((await request(f.app, "/assets/other.js")).status, 404);
});

Deno.test("precompressed assets from the build are served as given", async () => {
  const gz = new Uint8Array([31, 139, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const f = fake({ assets: { js: "", css: "", jsGz: gz, jsHash: "feedc0de" } });
  const res = await request(f.app, "/assets/app.js?v=feedc0de", {
    headers: { "accept-encoding": "gzip" },
  });
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), gz);
  assert.equal(res.headers.get("etag"), '"feedc0de"');
});

Deno.test("unknown /api routes are 404 JSON; a failing dependency is 500 JSON without a stack", async () => {
  const f = fake({
    status: () => {
      throw new Error("driver exploded");
    },
  });
  const c = await login(f.app);
  const missing = await call(f.app, c, "GET", "/api/nothing/here");
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: "no such API endpoint: GET /api/nothing/here" });
  const error = console.error;
  console.error = () => {};
  try {
    const res = await call(f.app, c, "GET", "/api/status");
    assert.equal(res.status, 500);
    const body = await res.json();
    assert.deepEqual(body, { error: "internal error: driver exploded" });
  } finally {
    console.error = error;
  }
});

Deno.test("GET /api/status returns the status with its time and bucket owners", async () => {
  const f = fake({ bucketOwners: () => ({ default: [101, 0] }) });
  const c = await login(f.app);
  const s = await (await call(f.app, c, "GET", "/api/status")).json();
  assert.equal(s.clusterIp, "198.18.0.10");
  assert.equal(s.at, f.clock.now);
  assert.deepEqual(s.bucketOwners, { default: [101, 0] });
  assert.deepEqual(s.hosts.map((h: { state: string }) => h.state), [
    "converged",
    "converged",
    "converged",
  ]);
});

Deno.test("a body over 64 KiB is refused with 413", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "POST", "/api/rules", { id: "x".repeat(70_000) });
  assert.equal(res.status, 413);
  assert.match((await res.json()).error, /larger than 64 KiB/);
});
