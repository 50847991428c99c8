import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { probeService } from "../../../agent/health/service_probe.ts";
import { DEFAULT_HEALTH } from "../../../agent/cluster/config.ts";

Deno.test("probeService() passes a 2xx answer and fails a 5xx, naming the status", async () => {
  let status = 200;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("x", { status }),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const ok = await probeService({ ...DEFAULT_HEALTH, kind: "http", url });
    assertEquals(ok.ok, true);
    status = 503;
    const bad = await probeService({ ...DEFAULT_HEALTH, kind: "http", url });
    assertEquals(bad.ok, false);
    assert(bad.reason.includes("503"), bad.reason);
  } finally {
    await server.shutdown();
  }
});

Deno.test("probeService() fails a TCP port nobody listens on, with the reason", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const up = await probeService({ ...DEFAULT_HEALTH, kind: "tcp", port });
  l.close();
  assertEquals(up.ok, true);
  const down = await probeService({ ...DEFAULT_HEALTH, kind: "tcp", port });
  assertEquals(down.ok, false);
  assert(down.reason.startsWith(`tcp 127.0.0.1:${port}`), down.reason);
});
