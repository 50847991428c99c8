/**
 * When a host fails (agent killed, agent hung, link cut), the survivors reconverge and take
 * its buckets: every new connection succeeds on them. A host that comes back serves again.
 * One lab; each step starts with every host serving (and the client holding the cluster's
 * multicast MAC) and puts the lab back that way before it ends.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { NetnsLab } from "../../agent/lab/netns_lab.ts";
import {
  assertAllServe,
  burstWithDrops,
  editCluster,
  NOT_ROOT,
  restoreAll,
  withLab,
} from "./_lab_helpers.ts";

/** 300 new connections all succeed and are served by h1 and h2 only. */
async function assertSurvivorsServe(lab: NetnsLab): Promise<void> {
  const { sum, drops } = await burstWithDrops(lab, 300);
  const why = `${JSON.stringify(sum)}; nft counters during the burst: ${JSON.stringify(drops)}`;
  assertEquals(sum.total, 300, why);
  assertEquals(sum.failed, 0, why);
  assertEquals(Object.keys(sum.hosts).sort(), ["h1", "h2"], why);
}

Deno.test({
  name: "survivors take a failed host's connections, and a returning host serves again",
  ignore: NOT_ROOT,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await withLab({ hosts: 3 }, async (lab) => {
      await editCluster(lab, ["rules", "set", "default", "--affinity", "none"]);
      const [h1, h2, h3] = lab.hosts;

      await t.step(
        "after kill -9 of a host's agent the survivors serve every request",
        async () => {
          try {
            await assertAllServe(lab);
            await lab.kill(h3, "SIGKILL");
            await lab.waitConverged(15_000, [h1, h2]);
            await assertSurvivorsServe(lab);
          } finally {
            await restoreAll(lab);
          }
        },
      );

      await t.step({
        name: "after kill -9, a client resolving the cluster IP anew reaches only the survivors",
        // Regression (fixed: the kernel's ARP silence is not an owner table, so it outlives
        // a killed agent): the killed agent's host answers ARP for the cluster IP with its own MAC and
        // then takes every connection, unfiltered. HostDataplane.start() adds the cluster IP
        // (/32) to eth0 and silences the kernel's ARP for it with an nft `arp` table declared
        // `flags owner` (arp_suppression.ts, owner: true); on kill -9 the owner tables vanish
        // with the agent's netlink socket but the address stays (it is only removed at the next
        // start). The kernel (arp_ignore=0) then replies to an ARP request for 198.18.0.10 with
        // h3's unicast MAC, faster than the survivors' userspace responders, so a client whose
        // entry was flushed or went stale (a unicast probe is answered the same way) caches
        // h3's MAC: all 300 requests are served by h3 and none by h1/h2. Worse, after h3's
        // agent restarts, nothing corrects the client's cache (shared mode sends no gratuitous
        // ARP), so only h3 sees the client's frames and ~2/3 of new connections time out
        // (observed: 30 ok / 70 timeouts). Reproduced 3 of 3 runs.
        fn: async () => {
          try {
            await assertAllServe(lab);
            await lab.kill(h3, "SIGKILL");
            await lab.waitConverged(15_000, [h1, h2]);
            await lab.exec(lab.clients[0], ["ip", "neigh", "flush", "to", lab.clusterIp]);
            await assertSurvivorsServe(lab);
            await lab.start(h3);
            await lab.waitConverged(20_000);
            await assertAllServe(lab);
          } finally {
            await restoreAll(lab);
          }
        },
      });

      await t.step("a host killed with -9 and restarted rejoins and serves its share", async () => {
        try {
          await assertAllServe(lab);
          await lab.kill(h3, "SIGKILL");
          await lab.waitConverged(15_000, [h1, h2]);
          await lab.start(h3);
          await lab.waitConverged(20_000);
          await assertAllServe(lab);
        } finally {
          await restoreAll(lab);
        }
      });

      await t.step(
        "a hung agent's leases expire: the survivors serve, and it rejoins on SIGCONT",
        async () => {
          try {
            await assertAllServe(lab);
            await lab.kill(h3, "SIGSTOP");
            await lab.waitConverged(15_000, [h1, h2]);
            await assertSurvivorsServe(lab);
            await lab.kill(h3, "SIGCONT");
            await lab.waitConverged(20_000);
            await assertAllServe(lab);
          } finally {
            await restoreAll(lab);
          }
        },
      );

      await t.step(
        "a host cut off the network is replaced, and rejoins when its link is back",
        async () => {
          try {
            await assertAllServe(lab);
            await lab.linkDown(h3);
            await lab.waitConverged(15_000, [h1, h2]);
            await assertSurvivorsServe(lab);
            await lab.linkUp(h3);
            await lab.waitConverged(20_000);
            await assertAllServe(lab);
          } finally {
            await restoreAll(lab);
          }
        },
      );
    });
  },
});
