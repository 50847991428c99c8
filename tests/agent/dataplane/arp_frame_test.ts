import assert from "node:assert/strict";
import {
  buildArpProbe,
  buildArpReply,
  buildArpRequest,
  buildGratuitousArp,
  parseArp,
} from "../../../agent/dataplane/arp_frame.ts";

/** Hex with spaces and line breaks between fields, as written below. */
function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g)!, (b) => parseInt(b, 16));
}

const PAD = "00".repeat(18); // 42 bytes of Ethernet + ARP, zero-padded to 60

Deno.test("buildArpReply() lays out the cluster MAC in ARP and the host MAC as Ethernet source", () => {
  const frame = buildArpReply({
    srcMac: "03:bf:c6:12:00:64",
    srcIp: "198.18.0.100",
    dstMac: "02:00:00:00:00:02",
    dstIp: "198.18.0.2",
    ethSrcMac: "02:00:00:00:00:01",
  });
  assert.deepEqual(
    frame,
    hex(`
      020000000002 020000000001 0806
      0001 0800 06 04 0002
      03bfc6120064 c6120064
      020000000002 c6120002
      ${PAD}`),
  );
});

Deno.test("buildArpReply() takes the ARP sender MAC as Ethernet source when none is given", () => {
  const frame = buildArpReply({
    srcMac: "02:aa:bb:cc:dd:ee",
    srcIp: "198.18.0.100",
    dstMac: "02:00:00:00:00:02",
    dstIp: "198.18.0.2",
  });
  assert.deepEqual(
    frame,
    hex(`020000000002 02aabbccddee 0806 0001 0800 0604 0002
         02aabbccddee c6120064 020000000002 c6120002 ${PAD}`),
  );
});

Deno.test("buildArpReply() refuses a multicast Ethernet source and says to pass the host MAC", () => {
  assert.throws(
    () =>
      buildArpReply({
        srcMac: "03:bf:c6:12:00:64",
        srcIp: "198.18.0.100",
        dstMac: "02:00:00:00:00:02",
        dstIp: "198.18.0.2",
      }),
    /from the group MAC 03:bf:c6:12:00:64: pass ethSrcMac \(the interface's own MAC\)/,
  );
});

Deno.test("buildArpRequest() broadcasts who-has with a zero target MAC", () => {
  const frame = buildArpRequest({
    srcMac: "02:00:00:00:00:02",
    srcIp: "198.18.0.2",
    targetIp: "198.18.0.100",
  });
  assert.deepEqual(
    frame,
    hex(`ffffffffffff 020000000002 0806 0001 0800 0604 0001
         020000000002 c6120002 000000000000 c6120064 ${PAD}`),
  );
});

Deno.test("buildGratuitousArp() is a broadcast request whose target IP is the sender IP", () => {
  const frame = buildGratuitousArp({
    mac: "03:bf:c6:12:00:64",
    ip: "198.18.0.100",
    ethSrcMac: "02:00:00:00:00:01",
  });
  assert.deepEqual(
    frame,
    hex(`ffffffffffff 020000000001 0806 0001 0800 0604 0001
         03bfc6120064 c6120064 000000000000 c6120064 ${PAD}`),
  );
});

Deno.test("buildArpProbe() asks from sender IP 0.0.0.0 (RFC 5227)", () => {
  const frame = buildArpProbe({ mac: "02:00:00:00:00:01", ip: "198.18.0.100" });
  assert.deepEqual(
    frame,
    hex(`ffffffffffff 020000000001 0806 0001 0800 0604 0001
         020000000001 00000000 000000000000 c6120064 ${PAD}`),
  );
});

Deno.test("parseArp() reads back what the builders wrote", () => {
  const frame = buildArpReply({
    srcMac: "03:bf:c6:12:00:64",
    srcIp: "198.18.0.100",
    dstMac: "02:00:00:00:00:02",
    dstIp: "198.18.0.2",
    ethSrcMac: "02:00:00:00:00:01",
  });
  assert.deepEqual(parseArp(frame), {
    op: "reply",
    ethDst: "02:00:00:00:00:02",
    ethSrc: "02:00:00:00:00:01",
    senderMac: "03:bf:c6:12:00:64",
    senderIp: "198.18.0.100",
    targetMac: "02:00:00:00:00:02",
    targetIp: "198.18.0.2",
  });
});

Deno.test("parseArp() reads an unpadded 42-byte request from a subarray", () => {
  const wire = hex(`aaaa ffffffffffff 020000000002 0806 0001 0800 0604 0001
                    020000000002 c6120002 000000000000 c6120064`);
  assert.deepEqual(parseArp(wire.subarray(2)), {
    op: "request",
    ethDst: "ff:ff:ff:ff:ff:ff",
    ethSrc: "02:00:00:00:00:02",
    senderMac: "02:00:00:00:00:02",
    senderIp: "198.18.0.2",
    targetMac: "00:00:00:00:00:00",
    targetIp: "198.18.0.100",
  });
});

Deno.test("parseArp() gives undefined for short, non-ARP, non-IPv4 and unknown-op frames", () => {
  const good = buildArpRequest({
    srcMac: "02:00:00:00:00:02",
    srcIp: "198.18.0.2",
    targetIp: "198.18.0.100",
  });
  const with_ = (at: number, ...bytes: number[]) => {
    const f = good.slice();
    f.set(bytes, at);
    return f;
  };
  assert.ok(parseArp(good));
  assert.equal(parseArp(good.subarray(0, 41)), undefined, "short");
  assert.equal(parseArp(new Uint8Array(0)), undefined, "empty");
  assert.equal(parseArp(with_(12, 0x08, 0x00)), undefined, "IPv4 EtherType");
  assert.equal(parseArp(with_(14, 0x00, 0x06)), undefined, "htype IEEE 802");
  assert.equal(parseArp(with_(16, 0x86, 0xdd)), undefined, "ptype IPv6");
  assert.equal(parseArp(with_(18, 8)), undefined, "hlen 8");
  assert.equal(parseArp(with_(19, 16)), undefined, "plen 16");
  assert.equal(parseArp(with_(20, 0, 3)), undefined, "RARP request");
});
