import assert from "node:assert/strict";
import { configCommand } from "../../../agent/cli/config_cmd.ts";
import { CliError, UsageError } from "../../../agent/cli/cli.ts";
import {
  capture,
  latestConfig,
  rejectsWith,
  testConfig,
  withFakeAgent,
  withStateDir,
} from "./_temp_state.ts";

function config(dir: string, ...args: string[]) {
  return capture(() => configCommand.run([...args, "--state-dir", dir]));
}

Deno.test("config get prints the whole config as dotted keys", async () => {
  await withStateDir(async (dir) => {
    const { result, out } = await config(dir, "get");
    assert.equal(result, 0);
    const lines = out.split("\n");
    assert.match(lines[0], /^version +1$/);
    assert.ok(lines.some((l) => /^heartbeat\.periodMs +50$/.test(l)));
    assert.ok(lines.some((l) => /^hosts\.h2\.address +198\.18\.0\.2$/.test(l)));
    assert.ok(lines.some((l) => /^rules\.default\.mode +multiple$/.test(l)));
  });
});

Deno.test("config get --json prints the config object", async () => {
  await withStateDir(async (dir) => {
    const { out } = await config(dir, "get", "--json");
    assert.deepEqual(JSON.parse(out), testConfig());
  });
});

Deno.test("config get KEY prints one value", async () => {
  await withStateDir(async (dir) => {
    assert.equal((await config(dir, "get", "heartbeat.periodMs")).out, "50");
    assert.equal((await config(dir, "get", "mode")).out, "shared");
    assert.equal(
      (await config(dir, "get", "heartbeat")).out,
      "heartbeat.periodMs       50\nheartbeat.suspectMisses  3\n" +
        "heartbeat.deadMisses     5\nheartbeat.port           7946",
    );
    assert.deepEqual(
      JSON.parse((await config(dir, "get", "hosts", "--json")).out),
      testConfig().hosts,
    );
  });
});

Deno.test("config get names an unknown key", async () => {
  await withStateDir(async (dir) => {
    await rejectsWith(
      config(dir, "get", "colour"),
      CliError,
      /config get: unknown key "colour"/,
    );
  });
});

Deno.test("config get on a state dir without a config says what to run", async () => {
  await withStateDir(async (dir) => {
    await rejectsWith(
      config(dir, "get"),
      CliError,
      /there is no cluster config in .*appliance init/,
    );
  }, { config: false });
});

Deno.test("config set saves the next version and config get shows it", async () => {
  await withStateDir(async (dir) => {
    const { result, out } = await config(
      dir,
      "set",
      "heartbeat.periodMs=100",
      "drainTimeoutMs=2m",
      "hosts.h2.weight=80",
    );
    assert.equal(result, 0);
    assert.equal(
      out,
      "saved as version 2; the agent is not running: it will be adopted cluster-wide when it starts",
    );
    const c = latestConfig(dir);
    assert.equal(c.version, 2);
    assert.equal(c.heartbeat.periodMs, 100);
    assert.equal(c.drainTimeoutMs, 120_000);
    assert.equal(c.hosts[1].weight, 80);
    assert.equal((await config(dir, "get", "hosts.h2.weight")).out, "80");
  });
});

Deno.test("config set with the current values keeps the version", async () => {
  await withStateDir(async (dir) => {
    const { out } = await config(dir, "set", "buckets=1024", "--json");
    assert.deepEqual(JSON.parse(out), {
      version: 1,
      changed: false,
      agentRunning: false,
      pushed: [],
      failed: [],
    });
    assert.equal(latestConfig(dir).version, 1);
  });
});

Deno.test("config set names an unknown key and lists the settable ones", async () => {
  await withStateDir(async (dir) => {
    await rejectsWith(
      config(dir, "set", "colour=blue"),
      CliError,
      /config set: unknown key "colour"; settable keys: heartbeat\.periodMs, .*hosts\.NAME\.weight/,
    );
  });
});

Deno.test("config set says why version and clusterId are not settable", async () => {
  await withStateDir(async (dir) => {
    await rejectsWith(config(dir, "set", "version=7"), CliError, /every edit bumps it/);
    await rejectsWith(config(dir, "set", "clusterId=00"), CliError, /fixed at init/);
  });
});

Deno.test("config set lists every problem and saves nothing", async () => {
  await withStateDir(async (dir) => {
    await assert.rejects(
      config(dir, "set", "buckets=10", "mode=active"),
      (e) =>
        e instanceof CliError &&
        e.message ===
          "config set: the edit was refused (the config stays at version 1):\n" +
            "  - mode must be shared or failover\n" +
            "  - buckets must be an integer from 256 to 4096",
    );
    assert.equal(latestConfig(dir).version, 1);
  });
});

Deno.test("config set needs KEY=VALUE arguments", async () => {
  await withStateDir(async (dir) => {
    await rejectsWith(config(dir, "set"), UsageError, /give at least one KEY=VALUE/);
    await rejectsWith(config(dir, "set", "buckets"), UsageError, /"buckets" is not KEY=VALUE/);
  });
});

Deno.test("config set reports which hosts the running agent pushed to", async () => {
  await withStateDir(async (dir) => {
    const calls: string[] = [];
    await withFakeAgent(dir, (req) => {
      calls.push(`${req.method} ${new URL(req.url).pathname}`);
      return Response.json({ version: 2, pushed: ["h2"], failed: ["h3"] });
    }, async () => {
      const { result, out } = await config(dir, "set", "buckets=2048");
      assert.equal(result, 0);
      assert.equal(
        out,
        "saved as version 2; pushed to h2\n" +
          "could not push to h3: they adopt version 2 from the heartbeats once they are reachable",
      );
      const json = await config(dir, "set", "buckets=512", "--json");
      assert.deepEqual(JSON.parse(json.out), {
        version: 3,
        changed: true,
        agentRunning: true,
        pushed: ["h2"],
        failed: ["h3"],
      });
    });
    assert.deepEqual(calls, ["POST /config/reload", "POST /config/reload"]);
  });
});

Deno.test("config set says the version was saved when the agent fails to publish it", async () => {
  await withStateDir(async (dir) => {
    await withFakeAgent(
      dir,
      () => Response.json({ error: "peer api down" }, { status: 502 }),
      async () => {
        await rejectsWith(
          config(dir, "set", "buckets=2048"),
          CliError,
          /config set: saved as version 2, but the agent could not publish it: peer api down/,
        );
      },
    );
    assert.equal(latestConfig(dir).version, 2);
  });
});

Deno.test("config without a known subcommand is a usage error", async () => {
  await rejectsWith(configCommand.run([]), UsageError, /give a subcommand: get, set/);
  await rejectsWith(configCommand.run(["show"]), UsageError, /unknown subcommand "show"/);
  const { result, out } = await capture(() => configCommand.run(["set", "--help"]));
  assert.equal(result, 0);
  assert.match(out, /appliance config set KEY=VALUE/);
});
