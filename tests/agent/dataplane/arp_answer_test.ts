import assert from "node:assert/strict";
import { answerArp, probeConflict } from "../../../agent/dataplane/arp_answer.ts";
import {
  buildArpProbe,
  buildArpReply,
  buildArpRequest,
  buildGratuitousArp,
  parseArp,
} from "../../../agent/dataplane/arp_frame.ts";

const HOST = "02:00:00:00:00:01";
const CLIENT = "02:00:00:00:00:02";
const STRANGER = "02:00:00:00:00:66";
const SHARED = { ip: "198.18.0.100", answerMac: "03:bf:c6:12:00:64", hostMac: HOST };
const FAILOVER = { ip: "198.18.0.100", answerMac: HOST, hostMac: HOST };

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!, (b) => parseInt(b, 16));
}

const who = (srcMac: string, srcIp: string, targetIp: string) =>
  parseArp(buildArpRequest({ srcMac, srcIp, targetIp }));

Deno.test("answerArp() replies to who-has for the cluster IP with the cluster MAC, from the host MAC", () => {
  const d = answerArp(who(CLIENT, "198.18.0.2", "198.18.0.100"), SHARED);
  assert.equal(d.kind, "reply");
  assert.deepEqual(
    d.kind === "reply" && d.frame,
    hex(`020000000002 020000000001 0806 0001 0800 0604 0002
         03bfc6120064 c6120064 020000000002 c6120002 ${"00".repeat(18)}`),
  );
});

Deno.test("answerArp() in failover mode replies with the host's own MAC", () => {
  const d = answerArp(who(CLIENT, "198.18.0.2", "198.18.0.100"), FAILOVER);
  assert.equal(d.kind, "reply");
  assert.deepEqual(parseArp(d.kind === "reply" ? d.frame : new Uint8Array())?.senderMac, HOST);
});

Deno.test("answerArp() answers an RFC 5227 probe for the cluster IP, to 0.0.0.0 at the prober", () => {
  const d = answerArp(parseArp(buildArpProbe({ mac: CLIENT, ip: "198.18.0.100" })), SHARED);
  assert.equal(d.kind, "reply");
  const reply = parseArp(d.kind === "reply" ? d.frame : new Uint8Array());
  assert.deepEqual([reply?.ethDst, reply?.targetMac, reply?.targetIp], [CLIENT, CLIENT, "0.0.0.0"]);
});

Deno.test("answerArp() ignores each kind of frame it must not answer, by reason", () => {
  const cases: [string, Uint8Array | undefined, string][] = [
    ["notArp", undefined, "not ARP"],
    [
      "ownFrame",
      buildArpRequest({ srcMac: HOST, srcIp: "198.18.0.1", targetIp: "198.18.0.100" }),
      "own",
    ],
    [
      "notRequest",
      buildArpReply({ srcMac: CLIENT, srcIp: "198.18.0.2", dstMac: HOST, dstIp: "198.18.0.1" }),
      "reply",
    ],
    [
      "otherTarget",
      buildArpRequest({ srcMac: CLIENT, srcIp: "198.18.0.2", targetIp: "198.18.0.1" }),
      "other IP",
    ],
    [
      "announcement",
      buildGratuitousArp({
        mac: "03:bf:c6:12:00:64",
        ip: "198.18.0.100",
        ethSrcMac: "02:00:00:00:00:03",
      }),
      "peer's GARP",
    ],
  ];
  for (const [reason, frame, what] of cases) {
    const d = answerArp(frame && parseArp(frame), SHARED);
    assert.deepEqual(d, { kind: "ignore", reason }, what);
  }
});

Deno.test("answerArp() reports a conflict when a stranger speaks from the cluster IP", () => {
  const garp = parseArp(buildGratuitousArp({ mac: STRANGER, ip: "198.18.0.100" }));
  assert.deepEqual(answerArp(garp, SHARED), {
    kind: "ignore",
    reason: "announcement",
    conflict: STRANGER,
  });
  const reply = parseArp(
    buildArpReply({ srcMac: STRANGER, srcIp: "198.18.0.100", dstMac: CLIENT, dstIp: "198.18.0.2" }),
  );
  assert.deepEqual(answerArp(reply, FAILOVER), {
    kind: "ignore",
    reason: "notRequest",
    conflict: STRANGER,
  });
  const ask = who(STRANGER, "198.18.0.100", "198.18.0.2");
  assert.deepEqual(answerArp(ask, SHARED), {
    kind: "ignore",
    reason: "otherTarget",
    conflict: STRANGER,
  });
});

Deno.test("probeConflict() names a machine that answers from, announces or probes for the address", () => {
  const ip = "198.18.0.7";
  const reply = parseArp(
    buildArpReply({ srcMac: STRANGER, srcIp: ip, dstMac: HOST, dstIp: "0.0.0.0" }),
  )!;
  const garp = parseArp(buildGratuitousArp({ mac: STRANGER, ip }))!;
  const otherProbe = parseArp(buildArpProbe({ mac: STRANGER, ip }))!;
  assert.equal(probeConflict(reply, ip, HOST), STRANGER);
  assert.equal(probeConflict(garp, ip, HOST), STRANGER);
  assert.equal(probeConflict(otherProbe, ip, HOST), STRANGER);
});

Deno.test("probeConflict() ignores its own probe and talk about other addresses", () => {
  const ip = "198.18.0.7";
  assert.equal(probeConflict(parseArp(buildArpProbe({ mac: HOST, ip }))!, ip, HOST), undefined);
  assert.equal(
    probeConflict(parseArp(buildArpProbe({ mac: STRANGER, ip: "198.18.0.8" }))!, ip, HOST),
    undefined,
  );
  assert.equal(probeConflict(who(STRANGER, "198.18.0.9", ip)!, ip, HOST), undefined);
});
