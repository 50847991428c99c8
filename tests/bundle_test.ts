/**
 * `deno task bundle` makes one self-contained dist/appliance.js: copied alone into an empty
 * directory (no node_modules, no deno.json), it runs a whole host: init with a content
 * source, the agent, its admin panel (assets inlined) and replication.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const DENO = Deno.execPath();

async function run(cwd: string, args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(DENO, {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test({
  name: "the bundle runs alone: help, init, the agent, the panel and replication",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const build = await run(ROOT, ["run", "-A", "web/build.ts", "--bundle"]);
    assert.equal(build.code, 0, build.out);
    const dir = await Deno.makeTempDir({ prefix: "appliance-bundle-" });
    let agent: Deno.ChildProcess | undefined;
    try {
      await Deno.copyFile(`${ROOT}dist/appliance.js`, `${dir}/appliance.js`);
      const app = ["run", "-A", `${dir}/appliance.js`];
      const help = await run(dir, [...app, "--help"]);
      assert.equal(help.code, 0, help.out);
      assert.match(help.out, /replication/);

      await Deno.mkdir(`${dir}/www`);
      await Deno.writeTextFile(`${dir}/www/index.html`, "<h1>bundled</h1>");
      const address = `127.88.${1 + Math.floor(Math.random() * 250)}.11`;
      const state = `${dir}/state`;
      const init = await run(dir, [
        ...app,
        ...["init", "--cluster-ip", "198.18.0.100", "--interface", "lo", "--address", address],
        ...["--content-source", `${dir}/www`, "--state-dir", state, "--json"],
      ]);
      assert.equal(init.code, 0, init.out);
      assert.ok(JSON.parse(init.out).token);

      const port = 20000 + Math.floor(Math.random() * 20000);
      agent = new Deno.Command(DENO, {
        args: [
          ...app,
          "run",
          "--state-dir",
          state,
          "--dataplane",
          "off",
          "--panel",
          `${address}:${port}`,
        ],
        cwd: dir,
        stdout: "null",
        stderr: "null",
      }).spawn();
      const deadline = Date.now() + 30_000;
      let served = "";
      while (Date.now() < deadline) {
        served = await Deno.readTextFile(`${state}/content/current/index.html`).catch(() => "");
        if (served) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(served, "<h1>bundled</h1>");
      const status = await run(dir, [
        ...app,
        "replication",
        "status",
        "--json",
        "--state-dir",
        state,
      ]);
      assert.equal(status.code, 0, status.out);
      assert.ok(JSON.parse(status.out).committed >= 1, status.out);

      // The panel's page and script come from inside the bundle (plain HTTP on loopback).
      const page = await fetch(`http://${address}:${port}/`);
      const html = await page.text();
      assert.equal(page.status, 200);
      const script = /src="(\/assets\/app\.js[^"]*)"/.exec(html)?.[1];
      assert.ok(script, html);
      const js = await fetch(`http://${address}:${port}${script}`);
      assert.equal(js.status, 200);
      assert.ok((await js.text()).length > 10_000);
    } finally {
      if (agent) {
        agent.kill("SIGTERM");
        await agent.status;
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
