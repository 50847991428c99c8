import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { describe, readInterface } from "../../../agent/dataplane/interface_watch.ts";

Deno.test("describe() treats up and unknown (loopback, veth without carrier detection) as usable", () => {
  assertEquals(describe("eth1", "up"), null);
  assertEquals(describe("eth1", "unknown"), null);
});

Deno.test("describe() names a down interface and how to bring it up", () => {
  assertEquals(describe("eth1", "down"), 'interface "eth1" is down (see: ip link set eth1 up)');
  assert(describe("eth1", "lowerlayerdown")!.includes("no carrier"));
});

Deno.test("readInterface() reports a missing interface with the command to check", async () => {
  const root = await Deno.makeTempDir();
  try {
    assertEquals(readInterface("eth9", root), {
      fault: 'interface "eth9" not found (see: ip link)',
      ifindex: null,
    });
    await Deno.mkdir(`${root}/eth9`);
    await Deno.writeTextFile(`${root}/eth9/operstate`, "up\n");
    await Deno.writeTextFile(`${root}/eth9/ifindex`, "7\n");
    assertEquals(readInterface("eth9", root), { fault: null, ifindex: 7 });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
