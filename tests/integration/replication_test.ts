/**
 * Directory replication on a 3-host namespace lab (root only): h1 exports a source tree,
 * every host serves STATE-DIR/content/current. Covers create, modify, rename, delete, a
 * mass deletion held for confirmation, rollback, kill -9 during a transfer and during a
 * publish, a full disk on one importer (and strict consistency), and a corrupt copy on a
 * peer (a corrupt chunk on the wire: tests/agent/replication/fetch_generation_test.ts).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { NetnsLab } from "../../agent/lab/netns_lab.ts";
import type { LabHost } from "../../agent/lab/netns_lab.ts";
import type { ReplicationStatus } from "../../agent/replication/status.ts";
import { cli, COMMAND, NOT_ROOT } from "./_lab_helpers.ts";
import { randomBytes } from "../_fakes/random_bytes.ts";

type Snapshot = Record<string, string>;

/** path -> sha256 of the content, reading through symlinks, for every file under `root`. */
async function snapshot(root: string, rel = "", out: Snapshot = {}): Promise<Snapshot> {
  for await (const e of Deno.readDir(`${root}/${rel}`)) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(`${root}/${path}`);
    } catch {
      out[path] = "dangling";
      continue;
    }
    if (info.isDirectory) await snapshot(root, path, out);
    else {out[path] = createHash("sha256").update(await Deno.readFile(`${root}/${path}`)).digest(
        "hex",
      );}
  }
  return out;
}

function published(h: LabHost): string {
  return `${h.stateDir}/content/current`;
}

async function status(lab: NetnsLab, on = lab.hosts[0]): Promise<ReplicationStatus> {
  return JSON.parse(await cli(lab, ["replication", "status", "--json"], on));
}

/** Waits until `pred` holds for the replication status seen on h1 (bounded). */
async function waitStatus(
  lab: NetnsLab,
  pred: (s: ReplicationStatus) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<ReplicationStatus> {
  const deadline = Date.now() + timeoutMs;
  let s = await status(lab);
  while (!pred(s)) {
    if (Date.now() > deadline) {
      const logs = await Promise.all(
        s.hosts.filter((h) => h.state === "unreachable" || h.state === "error").map(async (h) =>
          `${h.name}'s log:\n${await lab.agentLog(lab.host(h.name), 30).catch((e) => e.message)}`
        ),
      );
      throw new Error(
        `timed out waiting for ${what}; status: ${JSON.stringify(s, null, 1)}\n${logs.join("\n")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
    s = await status(lab);
  }
  return s;
}

/** Waits until every host in `hosts` serves exactly `expect` (bounded). */
async function waitContent(lab: NetnsLab, hosts: LabHost[], expect: Snapshot, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (const h of hosts) {
    for (;;) {
      const got = await snapshot(published(h)).catch(() => ({}));
      if (JSON.stringify(sorted(got)) === JSON.stringify(sorted(expect))) break;
      if (Date.now() > deadline) {
        const log = (await events(lab, h, "content.*").catch(() => []))
          .sort((a, b) => a.id - b.id).slice(-15).map((e) => e.message).join("\n  ");
        assert.deepEqual(
          sorted(got),
          sorted(expect),
          `${h.name} serves another tree; its last content events:\n  ${log}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function sorted(s: Snapshot): Snapshot {
  return Object.fromEntries(Object.entries(s).sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function events(
  lab: NetnsLab,
  h: LabHost,
  kind: string,
): Promise<{ id: number; message: string }[]> {
  return JSON.parse(await cli(lab, ["events", "--kind", kind, "--json"], h));
}

/** The source minus what replication refuses (the escaping link). */
async function expected(src: string): Promise<Snapshot> {
  const s = await snapshot(src);
  delete s["evil"];
  return s;
}

Deno.test({
  name: "replication keeps 3 hosts' published trees identical to the source through every change",
  ignore: NOT_ROOT,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const baseDir = await Deno.makeTempDir({ prefix: "appliance-repl-" });
    const src = `${baseDir}/src`;
    await Deno.mkdir(`${src}/img/icons`, { recursive: true });
    await Deno.writeTextFile(`${src}/index.html`, "<h1>v1</h1>");
    await Deno.writeTextFile(`${src}/top.txt`, "top");
    await Deno.writeFile(`${src}/img/logo.png`, randomBytes(200_000, 1));
    await Deno.writeFile(`${src}/img/icons/a.png`, randomBytes(3000, 2));
    await Deno.symlink("logo.png", `${src}/img/same.png`);
    await Deno.symlink("../top.txt", `${src}/img/up.txt`);
    await Deno.symlink("/etc/passwd", `${src}/evil`);
    const lab = await NetnsLab.create({
      hosts: 3,
      clients: 0,
      command: COMMAND,
      baseDir: `${baseDir}/lab`,
      initArgs: ["--content-source", src],
      settings: ["replication.stabilizeMs=150"],
      runArgs: () => ["--dataplane", "off"],
    });
    const [h1, h2, h3] = lab.hosts;
    let tmpfs: string | undefined;
    try {
      await lab.waitConverged(20_000);

      await t.step(
        "the initial tree reaches every host; an escaping symlink is refused",
        async () => {
          await waitContent(lab, lab.hosts, await expected(src));
          const s = await waitStatus(
            lab,
            (s) => s.committed >= 1 && s.hosts.every((h) => h.generation === s.committed),
            "gen 1 everywhere",
          );
          assert.equal(s.exporter?.name, "h1");
          assert.ok(s.hosts.every((h) => h.publishedPath.endsWith("/content/current")));
          assert.ok(
            (await events(lab, h1, "content.rejected")).some((e) => e.message.includes("evil")),
          );
        },
      );

      let before: Snapshot = {};
      let beforeGen = 0;
      await t.step(
        "create, modify, rename and delete propagate; the old generation is untouched",
        async () => {
          before = await snapshot(published(h2));
          beforeGen = (await status(lab)).committed;
          await Deno.writeTextFile(`${src}/index.html`, "<h1>v2</h1>");
          await Deno.writeTextFile(`${src}/new.txt`, "new");
          await Deno.rename(`${src}/img/icons`, `${src}/icons`);
          await Deno.remove(`${src}/top.txt`);
          await waitContent(lab, lab.hosts, await expected(src));
          assert.equal(
            JSON.stringify(sorted(await snapshot(`${h2.stateDir}/content/gens/${beforeGen}`))),
            JSON.stringify(sorted(before)),
          );
        },
      );

      await t.step("a mass deletion is held until confirmed", async () => {
        const gen = (await status(lab)).committed;
        for (let i = 0; i < 20; i++) await Deno.writeTextFile(`${src}/f${i}.txt`, `f${i}`);
        await waitContent(lab, lab.hosts, await expected(src));
        const full = await expected(src);
        for (let i = 0; i < 20; i++) await Deno.remove(`${src}/f${i}.txt`);
        await Deno.remove(`${src}/img`, { recursive: true });
        const held = await waitStatus(lab, (s) => s.pending !== null, "a held generation");
        assert.ok(held.committed > gen);
        await new Promise((r) => setTimeout(r, 500));
        await waitContent(lab, lab.hosts, full, 1000); // still the old tree
        await cli(lab, ["replication", "now", "--confirm"]);
        await waitContent(lab, lab.hosts, await expected(src));
        assert.equal((await status(lab)).pending, null);
      });

      await t.step("rollback re-publishes an old generation and holds the source", async () => {
        const now = await snapshot(published(h1));
        const out = JSON.parse(
          await cli(lab, ["replication", "rollback", String(beforeGen), "--json"]),
        );
        assert.ok(out.gen > beforeGen);
        await waitContent(lab, lab.hosts, before);
        await Deno.writeTextFile(`${src}/while-held.txt`, "x");
        await new Promise((r) => setTimeout(r, 600));
        await waitContent(lab, lab.hosts, before, 1000);
        // Back to the source, which deletes most of the rolled-back files: the guard asks.
        await assert.rejects(cli(lab, ["replication", "now"]), /held.*--confirm/s);
        await cli(lab, ["replication", "now", "--confirm"]);
        await waitContent(lab, lab.hosts, await expected(src));
        assert.notDeepEqual(now, await snapshot(published(h1)));
      });

      await t.step(
        "kill -9 during a transfer: current stays servable, the restart catches up",
        async () => {
          const old = await snapshot(published(h3));
          await Deno.writeFile(`${src}/big.bin`, randomBytes(48 << 20, 7));
          await waitStatus(
            lab,
            (s) => s.hosts.some((h) => h.name === "h3" && h.state === "fetching"),
            "h3 fetching",
            30_000,
          );
          await lab.kill(h3, "SIGKILL");
          assert.deepEqual(sorted(await snapshot(published(h3))), sorted(old));
          await lab.start(h3);
          await waitContent(lab, lab.hosts, await expected(src), 60_000);
        },
      );

      await t.step("kill -9 during publishes never leaves a broken current", async () => {
        for (let i = 0; i < 4; i++) {
          await Deno.writeTextFile(`${src}/round.txt`, `round ${i}`);
          await new Promise((r) => setTimeout(r, 150 + i * 40));
          await lab.kill(h2, "SIGKILL");
          const s = await snapshot(published(h2));
          assert.ok(s["index.html"], `round ${i}: h2's current is complete`);
          assert.ok(!Object.values(s).includes("dangling"), `round ${i}: no dangling entry`);
          await lab.start(h2);
        }
        await waitContent(lab, lab.hosts, await expected(src), 30_000);
      });

      await t.step(
        "a peer's corrupt copy is never used: it refuses to serve it, the importer gets it elsewhere",
        async () => {
          await lab.kill(h3, "SIGTERM");
          await Deno.writeFile(`${src}/fresh.bin`, randomBytes(300_000, 9));
          const want = await expected(src);
          await waitContent(lab, [h1, h2], want);
          const sum = want["fresh.bin"];
          const files = `${h2.stateDir}/content/files/${sum.slice(0, 2)}`;
          const victim = [...Deno.readDirSync(files)].find((e) => e.name.startsWith(sum))!;
          const f = await Deno.open(`${files}/${victim.name}`, { write: true });
          await f.write(new Uint8Array(64).fill(0x55));
          f.close();
          await lab.start(h3);
          await waitContent(lab, [h3], want, 30_000);
          const log = (await events(lab, h2, "content.corrupt")).map((e) => e.message);
          assert.ok(log.some((m) => m.includes(victim.name)), `h2 logged no corrupt copy: ${log}`);
        },
      );

      await t.step(
        "a full disk on one importer: it stays on its generation, flagged; strict takes it out of the map",
        async () => {
          await lab.kill(h3, "SIGTERM");
          tmpfs = `${h3.stateDir}/content`;
          await Deno.remove(tmpfs, { recursive: true });
          await Deno.mkdir(tmpfs);
          const mount = await new Deno.Command("mount", {
            args: ["-t", "tmpfs", "-o", "size=24m", "tmpfs", tmpfs],
          }).output();
          assert.equal(mount.code, 0, new TextDecoder().decode(mount.stderr));
          await Deno.remove(`${src}/big.bin`);
          await Deno.remove(`${src}/fresh.bin`);
          await lab.start(h3);
          await waitContent(lab, lab.hosts, await expected(src), 30_000);
          const gen = (await status(lab)).committed;

          await Deno.writeFile(`${src}/huge.bin`, randomBytes(32 << 20, 11));
          const s = await waitStatus(
            lab,
            (s) => s.committed > gen && s.hosts.find((h) => h.name === "h3")?.state === "error",
            "h3 in error",
            60_000,
          );
          const row = s.hosts.find((h) => h.name === "h3")!;
          assert.equal(row.generation, gen);
          assert.match(row.lastError ?? "", /space/i);
          await waitContent(lab, [h1, h2], await expected(src));

          await cli(lab, ["config", "set", "replication.consistency=strict"]);
          await lab.waitFor(h1, (c) => c.hosts.find((h) => h.name === "h3")?.share === 0, 15_000);

          await Deno.remove(`${src}/huge.bin`);
          await waitContent(lab, lab.hosts, await expected(src), 30_000);
          await lab.waitFor(
            h1,
            (c) => (c.hosts.find((h) => h.name === "h3")?.share ?? 0) > 0,
            15_000,
          );
        },
      );
    } finally {
      await lab.destroy();
      if (tmpfs) await new Deno.Command("umount", { args: [tmpfs] }).output();
      await Deno.remove(baseDir, { recursive: true }).catch(() => {});
    }
  },
});
