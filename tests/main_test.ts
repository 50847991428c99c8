/** The CLI as a user meets it: help, usage errors, exit codes, and bad state. */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { COMMANDS } from "../main.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function appliance(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("every command answers --help with its usage and exit 0", async () => {
  for (const cmd of COMMANDS) {
    const r = await appliance(cmd.name, "--help");
    assertEquals(r.code, 0, `${cmd.name} --help exited ${r.code}: ${r.stderr}`);
    assert(/^Usage:\s+appliance /.test(r.stdout), `${cmd.name}: ${r.stdout.slice(0, 80)}`);
    assert(r.stdout.includes("--state-dir"), `${cmd.name} help lists --state-dir`);
  }
});

Deno.test("no command prints the command list and exits 2; --help exits 0", async () => {
  const none = await appliance();
  assertEquals(none.code, 2);
  assert(none.stdout.includes("Commands:"));
  assertEquals((await appliance("--help")).code, 0);
});

Deno.test("an unknown command or flag is a usage error (exit 2) that names it", async () => {
  const r = await appliance("frobnicate");
  assertEquals(r.code, 2);
  assert(r.stderr.includes('unknown command "frobnicate"'));
  const f = await appliance("status", "--bogus");
  assertEquals(f.code, 2);
  assert(f.stderr.includes("--bogus") && f.stderr.includes("appliance status --help"), f.stderr);
});

Deno.test("a missing state dir is a clear error with the fix, not a stack trace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await appliance("run", "--state-dir", `${dir}/nothing`);
    assertEquals(r.code, 1);
    assert(r.stderr.includes("appliance init") && !r.stderr.includes("    at "), r.stderr);
    const s = await appliance("status", "--state-dir", `${dir}/nothing`);
    assertEquals(s.code, 1);
    assert(s.stderr.includes("agent is not running"), s.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt database is refused with a clear error and left byte for byte unchanged", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const garbage = new TextEncoder().encode(
      "this is not an SQLite database, just garbage ".repeat(200),
    );
    await Deno.writeFile(`${dir}/appliance.db`, garbage);
    for (
      const args of [["run"], ["events"], ["rules", "list"], [
        "init",
        "--cluster-ip",
        "198.18.0.1",
        "--interface",
        "lo",
      ]]
    ) {
      const r = await appliance(...args, "--state-dir", dir);
      assertEquals(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert(!r.stderr.includes("    at "), `${args.join(" ")} printed a stack trace: ${r.stderr}`);
      assert(/corrupt|not a|already holds/i.test(r.stderr), `${args.join(" ")}: ${r.stderr}`);
    }
    assertEquals(await Deno.readFile(`${dir}/appliance.db`), garbage);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("init refuses an unknown interface and a bad cluster IP, naming them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const i = await appliance(
      "init",
      "--cluster-ip",
      "198.18.0.1",
      "--interface",
      "nosuch0",
      "--state-dir",
      dir,
    );
    assertEquals(i.code, 1);
    assert(i.stderr.includes('interface "nosuch0" not found (see: ip link)'), i.stderr);
    const ip = await appliance(
      "init",
      "--cluster-ip",
      "198.18.0",
      "--interface",
      "lo",
      "--state-dir",
      dir,
    );
    assertEquals(ip.code, 2);
    assert(ip.stderr.includes('--cluster-ip "198.18.0" is not an IPv4 address'), ip.stderr);
    assertEquals([...Deno.readDirSync(dir)].length, 0, "nothing was written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
