import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { PolledUdpTransport, sockaddrIn } from "../../../agent/adapters/polled_udp_transport.ts";

const PORT = 47_000 + Math.floor(Math.random() * 1000);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("PolledUdpTransport delivers datagrams between hosts on one port, with the sender", async () => {
  const a = PolledUdpTransport.bind("127.0.0.2", PORT);
  const b = PolledUdpTransport.bind("127.0.0.3", PORT);
  try {
    const got: [number[], string][] = [];
    b.onPacket((bytes, from) => got.push([[...bytes], from]));
    a.onPacket(() => {});
    a.send(["127.0.0.3"], new Uint8Array([1, 2, 3]));
    // Queued while this thread is busy (as during a long GC): all read afterwards, in order.
    const until = performance.now() + 30;
    for (let i = 4; i < 7; i++) a.send(["127.0.0.3"], new Uint8Array([i]));
    while (performance.now() < until) { /* busy */ }
    await wait(40);
    assertEquals(got, [
      [[1, 2, 3], "127.0.0.2"],
      [[4], "127.0.0.2"],
      [[5], "127.0.0.2"],
      [[6], "127.0.0.2"],
    ]);
    assertEquals([a.sendErrors, b.receiveErrors], [0, 0]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("PolledUdpTransport says what to check when the port is taken", async () => {
  const a = PolledUdpTransport.bind("127.0.0.4", PORT);
  try {
    throws(
      () => PolledUdpTransport.bind("127.0.0.4", PORT),
      /heartbeat port 127\.0\.0\.4:\d+: .*ss -ulpn/,
    );
  } finally {
    await a.close();
  }
});

Deno.test("PolledUdpTransport counts a send to a malformed address as an error", async () => {
  const a = PolledUdpTransport.bind("127.0.0.5", PORT);
  try {
    a.send(["not-an-address", "127.0.0.6"], new Uint8Array([1]));
    assertEquals(a.sendErrors, 1);
  } finally {
    await a.close();
  }
});

Deno.test("sockaddrIn lays out family, port (big-endian) and address", () => {
  assertEquals([...sockaddrIn("198.18.0.11", 7946)], [
    2,
    0,
    0x1f,
    0x0a,
    198,
    18,
    0,
    11,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  throws(() => sockaddrIn("198.18.0", 1), /not an IPv4 address/);
  assert(sockaddrIn("0.0.0.0", 0).every((b, i) => i === 0 ? b === 2 : b === 0));
});
