import assert from "node:assert/strict";
import {
  clusterMac,
  formatIPv4,
  formatMac,
  isMulticastMac,
  parseIPv4,
  parseMac,
} from "../../../agent/dataplane/cluster_mac.ts";

Deno.test("clusterMac() is 03:bf followed by the cluster IP's four bytes", () => {
  assert.equal(clusterMac("198.18.0.100"), "03:bf:c6:12:00:64");
  assert.equal(clusterMac("10.0.0.1"), "03:bf:0a:00:00:01");
  assert.equal(clusterMac("255.255.255.255"), "03:bf:ff:ff:ff:ff");
});

Deno.test("clusterMac() is a group address, so switches flood it to every host", () => {
  assert.ok(isMulticastMac(clusterMac("198.18.0.100")));
  assert.ok(!isMulticastMac("02:00:00:00:00:01"));
});

Deno.test("clusterMac() refuses an address that is not IPv4, saying what to write", () => {
  assert.throws(() => clusterMac("198.18.0"), /"198.18.0" is not an IPv4 address \(write four/);
  assert.throws(() => clusterMac("198.18.0.256"), /is not an IPv4 address/);
  assert.throws(() => clusterMac("198.18.0.01"), /is not an IPv4 address/);
  assert.throws(() => clusterMac("::1"), /is not an IPv4 address/);
});

Deno.test("parseMac() reads colon or dash form in any case; formatMac() writes lower case", () => {
  assert.deepEqual(parseMac("03:BF:c6:12:00:64"), Uint8Array.of(3, 0xbf, 0xc6, 0x12, 0, 0x64));
  assert.deepEqual(parseMac("02-00-5e-10-00-01"), Uint8Array.of(2, 0, 0x5e, 0x10, 0, 1));
  assert.equal(formatMac(Uint8Array.of(3, 0xbf, 0xc6, 0x12, 0, 0x64)), "03:bf:c6:12:00:64");
  assert.equal(
    formatMac(Uint8Array.of(9, 9, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff), 2),
    "aa:bb:cc:dd:ee:ff",
  );
});

Deno.test("parseMac() refuses anything but six hex pairs, showing the expected form", () => {
  for (
    const bad of [
      "",
      "03:bf:c6:12:00",
      "03:bf:c6:12:00:64:00",
      "3:bf:c6:12:00:64",
      "zz:bf:c6:12:00:64",
    ]
  ) {
    assert.throws(() => parseMac(bad), /is not a MAC address \(write six hex pairs: 02:00:5e/);
  }
});

Deno.test("formatMac() and formatIPv4() refuse too few bytes", () => {
  assert.throws(() => formatMac(new Uint8Array(5)), /needs 6 bytes/);
  assert.throws(() => formatIPv4(new Uint8Array(6), 3), /needs 4 bytes/);
});

Deno.test("parseIPv4() and formatIPv4() round-trip", () => {
  assert.deepEqual(parseIPv4("198.18.0.100"), Uint8Array.of(198, 18, 0, 100));
  assert.equal(formatIPv4(Uint8Array.of(0, 0, 198, 18, 0, 100), 2), "198.18.0.100");
  assert.equal(formatIPv4(parseIPv4("0.0.0.0")), "0.0.0.0");
});
