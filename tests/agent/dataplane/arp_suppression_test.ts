import assert from "node:assert/strict";
import {
  kernelArpSuppression,
  removeArpSuppression,
} from "../../../agent/dataplane/arp_suppression.ts";

Deno.test("kernelArpSuppression() replaces the arp table and sets arp_announce on the interface", () => {
  const s = kernelArpSuppression({ iface: "eth1", clusterIp: "198.18.0.100" });
  assert.equal(
    s.nft,
    `add table arp appliance
delete table arp appliance
table arp appliance {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tarp operation request arp daddr ip 198.18.0.100 counter drop comment "cluster IP: the agent answers"
\t}
\tchain output {
\t\ttype filter hook output priority filter; policy accept;
\t\tarp saddr ip 198.18.0.100 counter drop comment "cluster IP: only the agent speaks for it"
\t}
}
`,
  );
  assert.deepEqual(s.sysctls, [{ path: "/proc/sys/net/ipv4/conf/eth1/arp_announce", value: "2" }]);
});

Deno.test("kernelArpSuppression() with owner declares the table with flags owner", () => {
  const s = kernelArpSuppression({ iface: "eth1", clusterIp: "198.18.0.100", owner: true });
  assert.ok(
    s.nft.startsWith("add table arp appliance { flags owner; }\ndelete table arp appliance\n"),
  );
  assert.ok(s.nft.includes("table arp appliance {\n\tflags owner\n\n\tchain input {"));
});

Deno.test("kernelArpSuppression() writes a dotted VLAN interface as a path, not a sysctl key", () => {
  const s = kernelArpSuppression({ iface: "eth1.100", clusterIp: "198.18.0.100" });
  assert.equal(s.sysctls[0].path, "/proc/sys/net/ipv4/conf/eth1.100/arp_announce");
});

Deno.test("kernelArpSuppression() refuses a bad address or interface name before writing a script", () => {
  assert.throws(
    () => kernelArpSuppression({ iface: "eth1", clusterIp: "198.18.0" }),
    /is not an IPv4 address/,
  );
  for (const iface of ["", "eth1 x", "../x", "a".repeat(16), '"x']) {
    assert.throws(
      () => kernelArpSuppression({ iface, clusterIp: "198.18.0.100" }),
      /is not an interface name \(see: ip link\)/,
    );
  }
});

Deno.test("removeArpSuppression() deletes the table even if it is not there", () => {
  assert.equal(removeArpSuppression(), "add table arp appliance\ndelete table arp appliance\n");
});
