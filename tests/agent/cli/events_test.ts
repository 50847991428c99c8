import assert from "node:assert/strict";
import { eventsCommand, followEvents, formatEvent, parseSince } from "../../../agent/cli/events.ts";
import { CliError, UsageError } from "../../../agent/cli/cli.ts";
import type { Event, EventInput } from "../../../db/event_log.ts";
import { capture, rejectsWith, withFakeAgent, withState, withStateDir } from "./_temp_state.ts";

const FIXTURE = new URL("./_fixtures/run_events.ts", import.meta.url).pathname;
const T0 = Date.parse("2026-11-24T23:00:00.000Z");

const SAMPLE: EventInput[] = [
  { ts: T0, host: "h1", level: "info", kind: "agent.start", message: "agent started" },
  { ts: T0 + 1000, host: "h1", level: "info", kind: "peer.up", message: "host h2 is up" },
  {
    ts: T0 + 2000,
    host: "h1",
    level: "warn",
    kind: "peer.down",
    message: "host h3 is down: missed 5 heartbeats",
  },
  { ts: T0 + 3000, host: "h1", level: "error", kind: "config.mismatch", message: "H2 differs" },
];

function append(dir: string, events: EventInput[]): void {
  withState(dir, (s) => s.events.appendMany(events));
}

function events(dir: string, ...args: string[]) {
  return capture(() => eventsCommand.run([...args, "--state-dir", dir]));
}

async function withEvents(fn: (dir: string) => Promise<void>): Promise<void> {
  await withStateDir(async (dir) => {
    append(dir, SAMPLE);
    await fn(dir);
  });
}

function event(id: number, message: string): Event {
  return { id, ts: T0, host: "h2", level: "info", kind: "test", message, details: {} };
}

Deno.test("formatEvent() prints time, level, kind, host and message in columns", () => {
  const e: Event = { ...SAMPLE[2], id: 3, host: "h2", ts: T0 + 62_345, details: {} };
  assert.equal(
    formatEvent(e),
    "2026-11-24T23:01:02.345Z  warn   peer.down        h2  host h3 is down: missed 5 heartbeats",
  );
});

Deno.test("events prints the local events oldest first", async () => {
  await withEvents(async (dir) => {
    const { result, out } = await events(dir);
    assert.equal(result, 0);
    const lines = out.split("\n");
    assert.equal(lines.length, 4);
    assert.equal(lines[0], "2026-11-24T23:00:00.000Z  info   agent.start      h1  agent started");
    assert.ok(lines[3].endsWith("error  config.mismatch  h1  H2 differs"), lines[3]);
  });
});

Deno.test("events --json prints an array of events", async () => {
  await withEvents(async (dir) => {
    const parsed = JSON.parse((await events(dir, "--json")).out) as Event[];
    assert.deepEqual(parsed.map((e) => e.kind), SAMPLE.map((e) => e.kind));
    assert.deepEqual(Object.keys(parsed[0]).sort(), [
      "details",
      "host",
      "id",
      "kind",
      "level",
      "message",
      "ts",
    ]);
  });
});

Deno.test("events --limit shows the newest N, still oldest first", async () => {
  await withEvents(async (dir) => {
    const parsed = JSON.parse((await events(dir, "--limit", "2", "--json")).out) as Event[];
    assert.deepEqual(parsed.map((e) => e.kind), ["peer.down", "config.mismatch"]);
  });
});

Deno.test("events filters by kind prefix, minimum level and message text", async () => {
  await withEvents(async (dir) => {
    const kinds = async (...args: string[]) =>
      (JSON.parse((await events(dir, ...args, "--json")).out) as Event[]).map((e) => e.kind);
    assert.deepEqual(await kinds("--kind", "peer.*"), ["peer.up", "peer.down"]);
    assert.deepEqual(await kinds("--kind", "peer.up"), ["peer.up"]);
    assert.deepEqual(await kinds("--level", "warn"), ["peer.down", "config.mismatch"]);
    assert.deepEqual(await kinds("--search", "h2"), ["peer.up", "config.mismatch"]);
  });
});

Deno.test("events --since takes an ISO time or a duration ago", async () => {
  await withEvents(async (dir) => {
    const iso = JSON.parse((await events(dir, "--since", "2026-11-24T23:00:02Z", "--json")).out);
    assert.deepEqual(iso.map((e: Event) => e.kind), ["peer.down", "config.mismatch"]);
    append(dir, [{ ts: Date.now() - 1000, host: "h1", level: "info", kind: "now", message: "x" }]);
    const recent = JSON.parse((await events(dir, "--since", "10m", "--json")).out);
    assert.deepEqual(recent.map((e: Event) => e.kind), ["now"]);
  });
});

Deno.test("parseSince() subtracts a duration from now", () => {
  assert.equal(parseSince("10m", T0), T0 - 600_000);
  assert.equal(parseSince("1h30m", T0), T0 - 5_400_000);
  assert.equal(parseSince("2026-11-24T23:00:00Z", 0), T0);
});

Deno.test("events refuses a bad --since, --level or --limit with a usage error", async () => {
  await withEvents(async (dir) => {
    await rejectsWith(
      events(dir, "--since", "yesterday"),
      UsageError,
      /--since must be an ISO time such as .* or a duration ago such as 90s, 10m.*got "yesterday"/,
    );
    await rejectsWith(events(dir, "--since", "2026-13-45"), UsageError, /--since must be/);
    await rejectsWith(
      events(dir, "--level", "fatal"),
      UsageError,
      /--level must be debug, info, warn, error, got "fatal"/,
    );
    await rejectsWith(events(dir, "--limit", "0"), UsageError, /--limit must be an integer/);
  });
});

Deno.test("events says when nothing matches", async () => {
  await withStateDir(async (dir) => {
    assert.equal((await events(dir)).out, "no events yet");
    assert.match((await events(dir, "--kind", "x")).out, /^no events match \(loosen --since/);
    assert.equal((await events(dir, "--json")).out, "[]");
  });
});

Deno.test("events --host with this host's name reads locally, with the agent down", async () => {
  await withEvents(async (dir) => {
    const { out } = await events(dir, "--host", "h1", "--json");
    assert.equal(JSON.parse(out).length, 4);
  });
});

Deno.test("events --host with another host needs the agent, and says so", async () => {
  await withEvents(async (dir) => {
    await rejectsWith(
      events(dir, "--host", "h2"),
      CliError,
      /^events --host h2: the events of another host come through the local agent: the agent is not running/,
    );
  });
});

Deno.test("events --host fetches another host's events through the agent", async () => {
  await withEvents(async (dir) => {
    const asked: URLSearchParams[] = [];
    const remote = [event(9, "newest warn"), event(8, "middle"), event(7, "oldest warn")];
    remote[0].level = remote[2].level = "warn";
    await withFakeAgent(dir, (req) => {
      asked.push(new URL(req.url).searchParams);
      return Response.json(remote);
    }, async () => {
      const plain = await events(dir, "--host", "h2", "--kind", "test", "--limit", "5");
      assert.deepEqual(plain.out.split("\n").map((l) => l.split("  ").at(-1)), [
        "oldest warn",
        "middle",
        "newest warn",
      ]);
      const warn = await events(dir, "--host", "h2", "--level", "warn", "--limit", "1", "--json");
      assert.deepEqual(JSON.parse(warn.out).map((e: Event) => e.message), ["newest warn"]);
    });
    assert.equal(
      asked[0].toString(),
      "host=h2&kind=test&order=desc&limit=5",
    );
    // level and search are applied locally too, so the agent is asked for the most it gives.
    assert.equal(asked[1].get("level"), "warn");
    assert.equal(asked[1].get("limit"), "10000");
  });
});

Deno.test("events --host passes on the agent's error", async () => {
  await withEvents(async (dir) => {
    await withFakeAgent(
      dir,
      () => Response.json({ error: 'no host named "h9" in the cluster' }, { status: 404 }),
      async () => {
        await rejectsWith(
          events(dir, "--host", "h9"),
          CliError,
          /^events --host h9: no host named "h9"/,
        );
      },
    );
  });
});

Deno.test("followEvents() prints what comes after the last id until aborted", async () => {
  const stop = new AbortController();
  const printed: string[] = [];
  const asked: (number | undefined)[] = [];
  const batches = [[event(5, "a"), event(6, "b")], [], [event(7, "c")]];
  let slept = 0;
  await followEvents({
    source: (afterId) => {
      asked.push(afterId);
      return Promise.resolve(batches.shift() ?? []);
    },
    print: (e) => printed.push(e.message),
    lastId: 4,
    signal: stop.signal,
    intervalMs: 250,
    sleep: (ms) => {
      assert.equal(ms, 250);
      if (++slept === 4) stop.abort();
      return Promise.resolve();
    },
  });
  assert.deepEqual(printed, ["a", "b", "c"]);
  assert.deepEqual(asked, [4, 6, 6]);
});

Deno.test("events --follow --json prints new events as JSON lines until SIGINT", async () => {
  await withEvents(async (dir) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", FIXTURE, "--follow", "--json", "--limit", "1", "--state-dir", dir],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
      env: { NO_COLOR: "1" },
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let pending = "";
    /** The next complete line the child printed. */
    const nextLine = async (): Promise<string> => {
      while (!pending.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error("the child exited early");
        pending += value;
      }
      const at = pending.indexOf("\n");
      const line = pending.slice(0, at);
      pending = pending.slice(at + 1);
      return line;
    };
    try {
      assert.equal(JSON.parse(await nextLine()).kind, "config.mismatch");
      append(dir, [{ ts: T0 + 9000, host: "h1", level: "info", kind: "late", message: "new" }]);
      assert.equal(JSON.parse(await nextLine()).kind, "late");
      child.kill("SIGINT");
      const status = await child.status;
      assert.equal(status.code, 0, "a SIGINT ends --follow with exit code 0");
      assert.equal(pending + ((await lines.read()).value ?? ""), "");
    } finally {
      await lines.cancel();
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      await child.status;
    }
  });
});
