import assert from "node:assert/strict";
import { tokenCommand } from "../../../agent/cli/token.ts";
import { CliError, UsageError } from "../../../agent/cli/cli.ts";
import { checkSecret, parseToken } from "../../../agent/security/token.ts";
import { certFingerprint } from "../../../agent/security/ca.ts";
import { capture, rejectsWith, withState, withStateDir } from "./_temp_state.ts";

function token(dir: string, ...args: string[]) {
  return capture(() => tokenCommand.run(["create", ...args, "--state-dir", dir]));
}

Deno.test("token create prints the token and the join command for the new host", async () => {
  await withStateDir(async (dir) => {
    const { result, out } = await token(dir);
    assert.equal(result, 0);
    const t = /^(apl1\.\S+)$/m.exec(out)?.[1];
    assert.ok(t, out);
    assert.match(out, /^join token \(single use, valid until \d{4}-\d\d-\d\dT[\d:.]+Z\):$/m);
    assert.ok(
      out.includes(`  appliance join https://198.18.0.1:7947 --token ${t} --interface eth1\n`),
    );
    assert.match(out, /in place of eth1 if its name differs/);
  }, { ca: true });
});

Deno.test("token create stores the record, with a 1h lifetime by default", async () => {
  await withStateDir(async (dir) => {
    const t = JSON.parse((await token(dir, "--json")).out).token;
    const parsed = parseToken(t);
    assert.ok(parsed.ok);
    const record = withState(dir, (s) => s.store.getToken(parsed.id));
    assert.ok(record);
    assert.equal(record.expiresAt - record.createdAt, 3_600_000);
    assert.ok(checkSecret(record, parsed.secret));
    assert.equal(record.usedAt, undefined);
  }, { ca: true });
});

Deno.test("token create pins the cluster CA in the token", async () => {
  await withStateDir(async (dir) => {
    const out = JSON.parse((await token(dir, "--ttl", "15m", "--json")).out);
    assert.deepEqual(Object.keys(out), ["token", "expiresAt"]);
    const parsed = parseToken(out.token);
    assert.ok(parsed.ok);
    const ca = withState(dir, (s) => s.store.getSecret("ca_cert")!);
    assert.equal(parsed.caFingerprint, certFingerprint(ca));
    const record = withState(dir, (s) => s.store.getToken(parsed.id))!;
    assert.equal(record.expiresAt - record.createdAt, 900_000);
    assert.equal(new Date(record.expiresAt).toISOString(), out.expiresAt);
  }, { ca: true });
});

Deno.test("token create refuses a bad --ttl, naming the accepted forms", async () => {
  await withStateDir(async (dir) => {
    for (const ttl of ["30", "1 hour", "0s", "-5m", ""]) {
      await rejectsWith(
        token(dir, `--ttl=${ttl}`),
        UsageError,
        /^token create: --ttl must be a duration such as 30m, 1h, 2d or 1h30m \(units ms, s, m, h, d\)/,
      );
    }
  }, { ca: true });
});

Deno.test("token create without a cluster CA says to run it on a member", async () => {
  await withStateDir(async (dir) => {
    await rejectsWith(token(dir), CliError, /holds no cluster membership.*run it on a member/);
  });
});

Deno.test("token without create is a usage error; token create --help prints help", async () => {
  await rejectsWith(tokenCommand.run([]), UsageError, /give a subcommand: create/);
  const { result, out } = await capture(() => tokenCommand.run(["create", "--help"]));
  assert.equal(result, 0);
  assert.match(out, /appliance token create \[--ttl D\]/);
  assert.match(out, /default 1h/);
});
