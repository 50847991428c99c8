import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { assetsModuleSource, buildSpa, MAX_FIRST_LOAD_GZ } from "../../web/spa_build.ts";
import { contentHash } from "../../web/static_app.ts";

Deno.test("buildSpa() compiles the SPA within the first-load budget, with gzip and hashes", async () => {
  const a = await buildSpa();
  assert.match(a.js, /\/api\/stream/);
  assert.match(a.css, /prefers-color-scheme:dark/);
  assert.ok(a.jsGz.length + a.cssGz.length < MAX_FIRST_LOAD_GZ);
  assert.equal(new TextDecoder().decode(gunzipSync(a.jsGz)), a.js);
  assert.equal(a.jsHash, contentHash(a.js));
  assert.doesNotMatch(a.js, /node:crypto|node:zlib/, "no server module leaked into the browser");

  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/deps.ts`, "export type Assets = unknown;\n");
    await Deno.writeTextFile(`${dir}/gen.ts`, assetsModuleSource(a));
    const { ASSETS } = await import(`file://${dir}/gen.ts`);
    assert.equal(ASSETS.js, a.js);
    assert.deepEqual(ASSETS.cssGz, a.cssGz);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
