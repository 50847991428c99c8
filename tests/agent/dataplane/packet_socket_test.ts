import assert from "node:assert/strict";
import { PacketSocket, socketError } from "../../../agent/dataplane/packet_socket.ts";

Deno.test("socketError() names CAP_NET_RAW and how to get it when the call is not permitted", () => {
  for (const code of [1, 13]) {
    assert.equal(
      socketError("open a packet socket", "eth1", code, "Operation not permitted").message,
      `cannot open a packet socket on "eth1": Operation not permitted (CAP_NET_RAW is needed: ` +
        `run as root or grant CAP_NET_RAW, e.g. setcap cap_net_raw+ep on the deno binary)`,
    );
  }
});

Deno.test("socketError() points at ip link for a missing or down interface", () => {
  assert.equal(
    socketError("bind a packet socket", "eth1", 19, "No such device").message,
    `cannot bind a packet socket on "eth1": interface "eth1" not found (see: ip link)`,
  );
  assert.equal(
    socketError("send", "eth1", 100, "Network is down").message,
    `cannot send on "eth1": interface "eth1" is down (see: ip link set eth1 up)`,
  );
});

Deno.test("socketError() gives the C library's text and the errno otherwise", () => {
  assert.equal(
    socketError("send", "eth1", 105, "No buffer space available").message,
    `cannot send on "eth1": No buffer space available (errno 105)`,
  );
});

Deno.test("PacketSocket.open() names a missing interface and where to look", () => {
  for (const name of ["apl-no-such0", "", "a-name-too-long-for-linux"]) {
    assert.throws(
      () => PacketSocket.open(name),
      new RegExp(`^Error: interface "${name}" not found \\(see: ip link\\)$`),
    );
  }
});
