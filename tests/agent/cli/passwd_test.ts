import assert from "node:assert/strict";
import { passwdCommand } from "../../../agent/cli/passwd.ts";
import { CliError, UsageError } from "../../../agent/cli/cli.ts";
import { verifyPassword } from "../../../agent/security/password.ts";
import { capture, rejectsWith, withState, withStateDir } from "./_temp_state.ts";

async function withPasswordFile(text: string, fn: (file: string) => Promise<void>) {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, text);
    await fn(file);
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("passwd --password-file stores the scrypt hash of its first line and logs an event", async () => {
  await withStateDir(async (dir) => {
    await withPasswordFile("a long passphrase\nignored second line\n", async (file) => {
      const { result, out } = await capture(() =>
        passwdCommand.run(["--password-file", file, "--state-dir", dir])
      );
      assert.equal(result, 0);
      assert.match(out, /^admin password changed/);
      const hash = withState(dir, (s) => s.store.getPasswordHash())!;
      assert.match(hash, /^scrypt\$16384\$8\$1\$/);
      assert.ok(await verifyPassword("a long passphrase", hash));
      const [event] = withState(dir, (s) => s.events.query({ kind: "admin.*" }));
      assert.equal(event.kind, "admin.password_changed");
      assert.equal(event.host, "h1");
      assert.match(event.message, /^the admin panel password was changed \(by cli:/);
      assert.doesNotMatch(JSON.stringify(event), /long passphrase/, "the password is not logged");
    });
  });
});

Deno.test("passwd refuses a password shorter than 8 characters and keeps the old hash", async () => {
  await withStateDir(async (dir) => {
    await withPasswordFile("short\n", async (file) => {
      await rejectsWith(
        passwdCommand.run(["--password-file", file, "--state-dir", dir]),
        CliError,
        /the password is 5 characters long: use at least 8/,
      );
      assert.equal(withState(dir, (s) => s.store.getPasswordHash()), undefined);
    });
  });
});

Deno.test("passwd says which file it cannot read", async () => {
  await withStateDir(async (dir) => {
    await rejectsWith(
      passwdCommand.run(["--password-file", `${dir}/missing`, "--state-dir", dir]),
      CliError,
      /cannot read --password-file .*missing/,
    );
  });
});

Deno.test("passwd without a file and without a terminal is a usage error", async () => {
  if (Deno.stdin.isTerminal()) return; // only meaningful when tests run without a TTY
  await withStateDir(async (dir) => {
    await rejectsWith(
      passwdCommand.run(["--state-dir", dir]),
      UsageError,
      /standard input is not a terminal: give --password-file F/,
    );
  });
});

Deno.test("passwd --help documents the options", async () => {
  const { result, out } = await capture(() => passwdCommand.run(["--help"]));
  assert.equal(result, 0);
  assert.match(out, /^Usage: appliance passwd \[--password-file F\]/);
  assert.match(out, /--state-dir DIR/);
});
