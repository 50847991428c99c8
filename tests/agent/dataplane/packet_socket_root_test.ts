/**
 * PacketSocket on a real kernel (root only). The round trip uses the loopback interface:
 * lo has NOARP set, so the kernel ignores the one test frame; nothing leaves the host.
 */
import assert from "node:assert/strict";
import { PacketSocket, POLL_TIMEOUT_MS } from "../../../agent/dataplane/packet_socket.ts";
import { buildArpRequest, parseArp } from "../../../agent/dataplane/arp_frame.ts";

const DATAPLANE = new URL("../../../agent/dataplane/", import.meta.url).href;
const ROOT_ONLY = Deno.uid() !== 0;

Deno.test({
  name: "PacketSocket sends a frame that another socket on the interface receives",
  ignore: ROOT_ONLY,
  async fn() {
    await using rx = PacketSocket.open("lo");
    await using tx = PacketSocket.open("lo");
    const got = Promise.withResolvers<Uint8Array>();
    rx.onFrame((f) => {
      if (parseArp(f)?.senderIp === "198.18.255.1") got.resolve(f);
    });
    const frame = buildArpRequest({
      srcMac: "02:00:00:00:ff:01",
      srcIp: "198.18.255.1",
      targetIp: "198.18.255.2",
    });
    tx.send(frame);
    const timer = setTimeout(() => got.reject(new Error("no frame within 2 s")), 2_000);
    try {
      assert.deepEqual(await got.promise, frame);
    } finally {
      clearTimeout(timer);
    }
    assert.equal(tx.counters.sent, 1);
    assert.ok(rx.counters.received >= 1);
    assert.equal(rx.ifindex, tx.ifindex);
  },
});

// The test runner does not see a pending FFI poll as a leaked op; the responder child in
// arp_responder_root_test.ts checks that a process with a closed socket exits by itself.
Deno.test({
  name: "PacketSocket.close() ends the receive loop within one poll timeout",
  ignore: ROOT_ONLY,
  async fn() {
    const sock = PacketSocket.open("lo");
    sock.onFrame(() => {});
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    await sock.close();
    const took = performance.now() - t0;
    assert.ok(took < POLL_TIMEOUT_MS + 200, `close() took ${took} ms`);
    assert.ok(sock.closed);
    await sock.close(); // twice is fine
    assert.throws(() => sock.send(new Uint8Array(60)), /packet socket on "lo" is closed/);
    assert.throws(() => sock.onFrame(() => {}), /packet socket on "lo" is closed/);
  },
});

Deno.test({
  name: "PacketSocket refuses a second receiver and a frame shorter than a header",
  ignore: ROOT_ONLY,
  async fn() {
    await using sock = PacketSocket.open("lo");
    sock.onFrame(() => {});
    assert.throws(() => sock.onFrame(() => {}), /onFrame\(\) was already called/);
    assert.throws(() => sock.send(new Uint8Array(13)), /a frame needs at least 14 bytes, got 13/);
  },
});

Deno.test({
  name: "PacketSocket.open() names CAP_NET_RAW when the process lacks it",
  ignore: ROOT_ONLY,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "apl-pkt-" });
    try {
      const script = `${dir}/open.ts`;
      await Deno.writeTextFile(
        script,
        `import { PacketSocket } from "${DATAPLANE}packet_socket.ts";
         try { PacketSocket.open("lo"); console.log("opened"); } catch (e) { console.log(e.message); }`,
      );
      // Root without CAP_NET_RAW: drop it from the bounding and inheritable sets.
      const out = await new Deno.Command("setpriv", {
        args: [
          "--bounding-set=-net_raw",
          "--inh-caps=-net_raw",
          Deno.execPath(),
          "run",
          "-A",
          "--no-config",
          script,
        ],
        env: { NO_COLOR: "1" },
        signal: AbortSignal.timeout(10_000),
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(
        text.trim(),
        `cannot open a packet socket on "lo": Operation not permitted (CAP_NET_RAW is needed: ` +
          `run as root or grant CAP_NET_RAW, e.g. setcap cap_net_raw+ep on the deno binary)`,
        new TextDecoder().decode(out.stderr),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
