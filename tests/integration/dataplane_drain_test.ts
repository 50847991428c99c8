/**
 * Moving buckets away from a host without losing anything: drainstop hands its new
 * connections to the others at once while its established ones carry on (their packets
 * still reach it through the shared MAC; the new owners drop them rather than reset them).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { LabHost, NetnsLab } from "../../agent/lab/netns_lab.ts";
import { startTraffic, type TrafficResult } from "../../agent/lab/traffic.ts";
import {
  assertAllServe,
  burst,
  cli,
  editCluster,
  NOT_ROOT,
  payload,
  restoreAll,
  sha256,
  sleep,
  startDownload,
  startSlowBackends,
  summarize,
  waitDrainedOut,
  waitUntil,
  withLab,
} from "./_lab_helpers.ts";

const DOWNLOAD_BYTES = 3 * 1024 * 1024;

/**
 * Runs traffic (a new connection every rateMs, bounded), drainstops `h` once it flows,
 * waits until the others have taken h's buckets, keeps the traffic one more second, and
 * returns every result and when the buckets had moved (ms on the generator's clock).
 */
async function drainUnderTraffic(
  lab: NetnsLab,
  h: LabHost,
  rateMs: number,
  timeoutMs: number,
): Promise<{ results: TrafficResult[]; movedAt: number }> {
  const traffic = startTraffic(lab, lab.clients[0], {
    target: `${lab.clusterIp}:80`,
    rateMs,
    count: 5000,
    durationMs: 15_000,
    timeoutMs,
  });
  try {
    const t0 = await traffic.started;
    await waitUntil("traffic flows", () => traffic.results.length >= 50, 10_000);
    await cli(lab, ["drainstop", "--host", h.name]);
    await waitDrainedOut(lab, h, lab.hosts.filter((o) => o !== h));
    const movedAt = Date.now() - t0;
    await sleep(1000);
    return { results: await traffic.stop(), movedAt };
  } finally {
    await traffic.stop();
  }
}

Deno.test({
  name: "drainstop moves a host's new connections away without losing any",
  ignore: NOT_ROOT,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await withLab({ hosts: 3 }, async (lab) => {
      await editCluster(lab, ["rules", "set", "default", "--affinity", "none"]);
      await editCluster(lab, ["config", "set", "drainTimeoutMs=2000"]);
      const h3 = lab.host("h3");

      await t.step(
        "requests running through a drainstop all complete, and none reach the drained host after",
        async () => {
          try {
            await assertAllServe(lab);
            const { results, movedAt } = await drainUnderTraffic(lab, h3, 10, 1000);
            const sum = summarize(results);
            assertEquals(sum.failed, 0, JSON.stringify(sum));
            assert((sum.hosts.h3 ?? 0) > 0, `h3 served before the drain: ${JSON.stringify(sum)}`);
            const after = results.filter((r) => r.t > movedAt);
            assert(after.length >= 50, `requests after the drain: ${after.length}`);
            assertEquals(summarize(after).hosts.h3, undefined, JSON.stringify(summarize(after)));
          } finally {
            await restoreAll(lab);
          }
        },
      );

      await t.step({
        name: "no connection opened during a drainstop waits for a SYN retransmit",
        // The draining host releases its buckets, then announces it; the others take them
        // on hearing it. A SYN between its nft commit and theirs would be dropped everywhere
        // and resent after 1 s, but the draining host forwards it to the new owner instead
        // (handoff_* maps in nft_rules.ts). A 1 s timeout at one request per 3 ms catches
        // any SYN that waits for a retransmit.
        fn: async () => {
          try {
            await assertAllServe(lab);
            const { results } = await drainUnderTraffic(lab, h3, 3, 1000);
            assertEquals(summarize(results).failed, 0, JSON.stringify(summarize(results)));
            // The forwarding ran: h3 handed SYNs over (for a moment after the release, the
            // new owners get them twice, which TCP takes as a retransmission).
            const listed = await lab.exec(h3, [
              "nft",
              "list",
              "counter",
              "ip",
              "appliance",
              "handed_off",
            ]);
            const handed = Number(/packets (\d+)/.exec(listed)?.[1]);
            assert(handed > 0, `h3 forwarded nothing: ${listed}`);
          } finally {
            await restoreAll(lab);
          }
        },
      });

      await t.step(
        "a download in progress completes intact after its bucket moves away",
        async () => {
          const slow = await startSlowBackends(lab, 8081, DOWNLOAD_BYTES, 3000);
          try {
            await assertAllServe(lab);
            const dl = startDownload(lab, lab.clients[0], `${lab.clusterIp}:8081`);
            const served = lab.host(await dl.head);
            const others = lab.hosts.filter((h) => h !== served);
            await cli(lab, ["drainstop", "--host", served.name]);
            await waitDrainedOut(lab, served, others);
            const movedAt = Date.now();

            // New connections go to the others while the download goes on.
            const sum = summarize(await burst(lab, 100));
            assertEquals(sum.failed, 0, JSON.stringify(sum));
            assertEquals(
              Object.keys(sum.hosts).sort(),
              others.map((h) => h.name),
              JSON.stringify(sum),
            );

            const { result, at } = await dl.end;
            assert(at > movedAt, "the download was still running when its bucket moved");
            assertEquals(result, {
              event: "done",
              bytes: DOWNLOAD_BYTES,
              sha256: sha256(payload(DOWNLOAD_BYTES)),
            });
          } finally {
            await slow.stop();
            await restoreAll(lab);
          }
        },
      );
    });
  },
});
