import assert from "node:assert/strict";
import { rulesCommand } from "../../../agent/cli/rules.ts";
import { CliError, UsageError } from "../../../agent/cli/cli.ts";
import { capture, latestConfig, rejectsWith, withStateDir } from "./_temp_state.ts";

function rules(dir: string, ...args: string[]) {
  return capture(() => rulesCommand.run([...args, "--state-dir", dir]));
}

const NOT_RUNNING = "the agent is not running: it will be adopted cluster-wide when it starts";

Deno.test("rules list prints a table of the rules", async () => {
  await withStateDir(async (dir) => {
    const { result, out } = await rules(dir, "list");
    assert.equal(result, 0);
    assert.equal(
      out,
      "ID       PORTS    PROTOCOL  MODE      AFFINITY  LOAD\n" +
        "default  0-65535  both      multiple  single    equal",
    );
  });
});

Deno.test("rules list shows - for affinity and load of a rule that is not shared", async () => {
  await withStateDir(async (dir) => {
    await rules(dir, "add", "dns", "--ports", "53", "--mode", "single");
    const { out } = await rules(dir, "list");
    assert.match(out.split("\n")[2], /^dns +53 +both +single +- +-$/);
  });
});

Deno.test("rules list --json prints the rules array", async () => {
  await withStateDir(async (dir) => {
    const { out } = await rules(dir, "list", "--json");
    assert.deepEqual(JSON.parse(out), latestConfig(dir).rules);
  });
});

Deno.test("rules add saves the next version with the defaults for omitted options", async () => {
  await withStateDir(async (dir) => {
    const { result, out } = await rules(
      dir,
      "add",
      "web",
      "--ports",
      "80-443",
      "--protocol",
      "tcp",
    );
    assert.equal(result, 0);
    assert.equal(out, `saved as version 2; ${NOT_RUNNING}`);
    const config = latestConfig(dir);
    assert.equal(config.version, 2);
    assert.deepEqual(config.rules[1], {
      id: "web",
      portLo: 80,
      portHi: 443,
      protocol: "tcp",
      mode: "multiple",
      affinity: "single",
      load: "equal",
    });
  });
});

Deno.test("rules add --json prints the outcome", async () => {
  await withStateDir(async (dir) => {
    const { out } = await rules(dir, "add", "web", "--ports", "80", "--json");
    assert.deepEqual(JSON.parse(out), {
      version: 2,
      changed: true,
      agentRunning: false,
      pushed: [],
      failed: [],
    });
  });
});

Deno.test("rules add refuses an overlapping rule and keeps the version", async () => {
  await withStateDir(async (dir) => {
    await rules(dir, "add", "web", "--ports", "80-443");
    await assert.rejects(
      rules(dir, "add", "api", "--ports", "443-8443"),
      (e) =>
        e instanceof CliError &&
        e.message === "rules add: rules web and api overlap; give them disjoint port ranges",
    );
    assert.equal(latestConfig(dir).version, 2);
  });
});

Deno.test("rules add needs an id and --ports", async () => {
  await withStateDir(async (dir) => {
    await rejectsWith(rules(dir, "add", "--ports", "80"), UsageError, /give the rule's id/);
    await rejectsWith(rules(dir, "add", "web"), UsageError, /--ports is required/);
  });
});

Deno.test("rules add refuses a bad option value, naming the accepted ones", async () => {
  await withStateDir(async (dir) => {
    await assert.rejects(
      rules(dir, "add", "web", "--ports", "80", "--protocol", "sctp"),
      (e) =>
        e instanceof UsageError &&
        e.message === 'rules add: --protocol must be tcp, udp or both, got "sctp"',
    );
    await rejectsWith(
      rules(dir, "add", "web", "--ports", "80-70"),
      UsageError,
      /rules add: --ports must be PORT or LO-HI/,
    );
    await assert.rejects(rules(dir, "add", "web", "--ports", "80", "--colour", "x"), UsageError);
  });
});

Deno.test("rules set changes the given fields of a rule", async () => {
  await withStateDir(async (dir) => {
    await rules(dir, "add", "web", "--ports", "80-443");
    const { out } = await rules(dir, "set", "web", "--load", "weighted", "--ports", "8080");
    assert.equal(out, `saved as version 3; ${NOT_RUNNING}`);
    const web = latestConfig(dir).rules[1];
    assert.equal(web.load, "weighted");
    assert.deepEqual([web.portLo, web.portHi], [8080, 8080]);
  });
});

Deno.test("rules set with what the rule already has changes nothing", async () => {
  await withStateDir(async (dir) => {
    const { result, out } = await rules(dir, "set", "default", "--mode", "multiple");
    assert.equal(result, 0);
    assert.equal(out, "nothing to change: the config stays at version 1");
    assert.equal(latestConfig(dir).version, 1);
  });
});

Deno.test("rules set names an unknown rule and lists the existing ids", async () => {
  await withStateDir(async (dir) => {
    await assert.rejects(
      rules(dir, "set", "web", "--mode", "single"),
      (e) =>
        e instanceof CliError &&
        e.message ===
          'rules set: no rule "web": the rules are default (see: appliance rules list)',
    );
  });
});

Deno.test("rules set needs at least one option", async () => {
  await withStateDir(async (dir) => {
    await rejectsWith(rules(dir, "set", "default"), UsageError, /give at least one of --ports/);
  });
});

Deno.test("rules remove says where the rule's ports go", async () => {
  await withStateDir(async (dir) => {
    await rules(dir, "add", "web", "--ports", "80-443");
    const { out } = await rules(dir, "remove", "web");
    assert.equal(
      out,
      `saved as version 3; ${NOT_RUNNING}\nports 80-443 now fall under the default rule`,
    );
    assert.deepEqual(latestConfig(dir).rules.map((r) => r.id), ["default"]);
  });
});

Deno.test("rules remove default is allowed and says traffic goes to the default host", async () => {
  await withStateDir(async (dir) => {
    const { result, out } = await rules(dir, "remove", "default", "--json");
    assert.equal(result, 0);
    const outcome = JSON.parse(out);
    assert.equal(outcome.version, 2);
    assert.match(outcome.note, /without the default rule, traffic on ports no rule covers goes/);
    assert.deepEqual(latestConfig(dir).rules, []);
    assert.match((await rules(dir, "list")).out, /^no rules: all traffic goes to the default host/);
  });
});

Deno.test("rules remove names an unknown rule", async () => {
  await withStateDir(async (dir) => {
    await rejectsWith(rules(dir, "remove", "web"), CliError, /no rule "web"/);
  });
});

Deno.test("rules without a known subcommand is a usage error", async () => {
  await rejectsWith(rulesCommand.run([]), UsageError, /give a subcommand: list, add, set/);
  await rejectsWith(rulesCommand.run(["drop"]), UsageError, /unknown subcommand "drop"/);
});

Deno.test("rules --help and rules add --help print the help", async () => {
  for (const args of [["--help"], ["add", "--help"], ["list", "-h"]]) {
    const { result, out } = await capture(() => rulesCommand.run(args));
    assert.equal(result, 0);
    assert.match(out, /^Usage:\n {2}appliance rules list/);
    assert.match(out, /Common options:/);
  }
});

Deno.test("rules list on a missing state dir says what to run", async () => {
  await rejectsWith(
    rulesCommand.run(["list", "--state-dir", "/nonexistent/appliance"]),
    CliError,
    /no state database at \/nonexistent\/appliance\/appliance.db: run `appliance init`/,
  );
});
