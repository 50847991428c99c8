/**
 * Three hosts share the cluster IP with no dispatcher: each takes the new connections whose
 * bucket it owns, so one client's connections (new source port each time, affinity none)
 * spread evenly; port rules send a port's traffic to one host (single) or to none (disabled).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  burst,
  editCluster,
  hostCounts,
  NOT_ROOT,
  startBackends,
  summarize,
  withLab,
} from "./_lab_helpers.ts";

Deno.test({
  name: "the cluster IP spreads new connections by bucket, and port rules override it",
  ignore: NOT_ROOT,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await withLab({ hosts: 3 }, async (lab) => {
      await editCluster(lab, ["rules", "set", "default", "--affinity", "none"]);

      await t.step(
        "2000 connections from one client are split about evenly over 3 hosts",
        async () => {
          const results = await burst(lab, 2000, { rateMs: 4 });
          const sum = summarize(results);
          assertEquals(sum.total, 2000, JSON.stringify(sum));
          assertEquals(sum.failed, 0, JSON.stringify(sum));
          for (const h of lab.hosts) {
            const n = sum.hosts[h.name] ?? 0;
            // 1/3 of 2000 ± 10 %: 600..733.
            assert(n >= 600 && n <= 733, `${h.name} served ${n}: ${JSON.stringify(sum.hosts)}`);
          }
        },
      );

      await t.step(
        "a single rule sends its port to the highest-priority host, a disabled rule to none",
        async () => {
          const backends = [await startBackends(lab, 8082), await startBackends(lab, 8083)];
          try {
            // Under the default rule both ports are shared (so the backends answer).
            for (const port of [8082, 8083]) {
              const before = summarize(
                await burst(lab, 60, { target: `${lab.clusterIp}:${port}` }),
              );
              assertEquals(before.failed, 0, `port ${port}: ${JSON.stringify(before)}`);
              assert(
                Object.keys(before.hosts).length > 1,
                `port ${port}: ${JSON.stringify(before)}`,
              );
            }
            await editCluster(lab, [
              "rules",
              "add",
              "one",
              ...["--ports", "8082", "--protocol", "tcp", "--mode", "single"],
            ]);
            await editCluster(lab, [
              "rules",
              "add",
              "off",
              ...["--ports", "8083", "--protocol", "tcp", "--mode", "disabled"],
            ]);

            const single = await burst(lab, 150, { target: `${lab.clusterIp}:8082` });
            assertEquals(summarize(single).failed, 0, JSON.stringify(summarize(single)));
            assertEquals(hostCounts(single), { h1: 150 });

            const disabled = await burst(lab, 10, { target: `${lab.clusterIp}:8083`, rateMs: 20 });
            assertEquals(summarize(disabled).errors, { timeout: 10 });

            // Port 80 is still shared by all three.
            const web = summarize(await burst(lab, 150));
            assertEquals(web.failed, 0, JSON.stringify(web));
            assertEquals(Object.keys(web.hosts).sort(), ["h1", "h2", "h3"]);
          } finally {
            for (const b of backends) await b.stop();
          }
        },
      );
    });
  },
});
