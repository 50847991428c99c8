import assert from "node:assert/strict";
import { acceptedConnections, collectTraffic, sharedInFlight } from "../../web/traffic.ts";
import { fake } from "./_fake_deps.ts";

Deno.test("acceptedConnections() sums the packets of the rule counters, not the drops", () => {
  assert.equal(
    acceptedConnections({
      rule_default: { packets: 7, bytes: 420 },
      rule_dns: { packets: 3, bytes: 180 },
      drop_not_owner: { packets: 99, bytes: 5940 },
    }),
    10,
  );
  assert.equal(acceptedConnections({ drop_not_owner: { packets: 1, bytes: 60 } }), undefined);
  assert.equal(acceptedConnections({}), undefined);
});

Deno.test("collectTraffic() asks each live host; leaves out the unreachable, failing and counterless", async () => {
  const f = fake();
  f.states.web3 = "unreachable";
  const asked: string[] = [];
  const totals = await collectTraffic(f.deps.status().hosts, (h) => {
    asked.push(h.name);
    return h.self
      ? Promise.resolve({ rule_default: { packets: 5, bytes: 300 } })
      : Promise.reject(new Error("timed out"));
  });
  assert.deepEqual(asked, ["web1", "web2"]);
  assert.deepEqual(totals, { web1: 5 });
  assert.deepEqual(
    await collectTraffic(f.deps.status().hosts, () => Promise.resolve({})),
    {},
    "no dataplane anywhere: nobody reports",
  );
});

Deno.test("sharedInFlight() gives concurrent callers one call, and calls again after it settles", async () => {
  let calls = 0;
  const get = sharedInFlight(() => Promise.resolve(++calls));
  assert.deepEqual(await Promise.all([get(), get(), get()]), [1, 1, 1]);
  assert.equal(await get(), 2);
});
