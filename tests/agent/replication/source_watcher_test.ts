import assert from "node:assert/strict";
import { relativeDir, SourceWatcher } from "../../../agent/replication/source_watcher.ts";

Deno.test("relativeDir() names the parent directory to rescan, or nothing outside the source", () => {
  assert.equal(relativeDir("/srv/www", "/srv/www/index.html"), "");
  assert.equal(relativeDir("/srv/www/", "/srv/www/img/a.png"), "img");
  assert.equal(relativeDir("/srv/www", "/srv/www/a/b/c.txt"), "a/b");
  assert.equal(relativeDir("/srv/www", "/srv/www"), "");
  assert.equal(relativeDir("/srv/www", "/srv/wwwx/a"), undefined);
  assert.equal(relativeDir("/srv/www", "/etc/passwd"), undefined);
});

Deno.test("SourceWatcher hands over hinted directories once the source is quiet", async () => {
  const dir = await Deno.makeTempDir();
  const got: string[][] = [];
  const w = new SourceWatcher({
    source: dir,
    stabilizeMs: 80,
    onChanged: (d) => got.push(d.sort()),
    onError: (m) => assert.fail(m),
  });
  try {
    w.hint(`${dir}/a/x.txt`);
    await new Promise((r) => setTimeout(r, 40));
    w.hint(`${dir}/b.txt`);
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(got, [], "the window restarts on every hint");
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(got, [["", "a"]]);
  } finally {
    w.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SourceWatcher turns real file events into hints", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/sub`);
  const got: string[][] = [];
  const w = new SourceWatcher({
    source: dir,
    stabilizeMs: 50,
    onChanged: (d) => got.push(d),
    onError: (m) => assert.fail(m),
  });
  try {
    w.start();
    await new Promise((r) => setTimeout(r, 50));
    await Deno.writeTextFile(`${dir}/sub/new.txt`, "x");
    const deadline = Date.now() + 3000;
    while (!got.flat().includes("sub") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(got.flat().includes("sub"), `hints: ${JSON.stringify(got)}`);
  } finally {
    w.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
