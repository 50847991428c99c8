import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import { addTrafficSample, TrafficCharts, type TrafficHistory } from "../../../web/ui/traffic.tsx";
import { Overview } from "../../../web/ui/overview.tsx";
import { fake } from "../_fake_deps.ts";

const T0 = Date.UTC(2026, 0, 31, 12);
const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
const hosts = () => fake().deps.status().hosts;

Deno.test("addTrafficSample() turns consecutive totals into per-second rates", () => {
  let h = addTrafficSample(undefined, { at: T0, totals: { web1: 100, web2: 50 } });
  assert.deepEqual(h.series, {}, "one sample: no rate yet");
  h = addTrafficSample(h, { at: T0 + 2000, totals: { web1: 140, web2: 40, web3: 9 } });
  assert.deepEqual(h.series, { web1: [{ at: T0 + 2000, rate: 20 }] }, "web2 restarted, web3 new");
  h = addTrafficSample(h, { at: T0 + 3000, totals: { web1: 150, web2: 45, web3: 9 } });
  assert.deepEqual(h.series.web1.at(-1), { at: T0 + 3000, rate: 10 });
  assert.deepEqual(h.series.web2, [{ at: T0 + 3000, rate: 5 }]);
  assert.deepEqual(h.series.web3, [{ at: T0 + 3000, rate: 0 }]);
  h = addTrafficSample(h, { at: T0 + 63_500, totals: { web1: 150 } });
  assert.deepEqual(h.series.web1, [{ at: T0 + 63_500, rate: 0 }], "older than a minute: dropped");
  assert.equal(h.series.web2, undefined);
});

Deno.test("TrafficCharts draws a line per host with its latest rate", () => {
  const history: TrafficHistory = {
    at: T0 + 60_000,
    totals: { web2: 10, web1: 50 },
    series: {
      web1: [{ at: T0 + 30_000, rate: 4 }, { at: T0 + 60_000, rate: 12 }],
    },
  };
  const html = renderToString(<TrafficCharts history={history} hosts={hosts()} />);
  const t = text(html);
  assert.match(t, /web1 12 conn\/s peak 12 conn\/s .*web2 measuring…/, "hosts in status order");
  assert.match(
    html,
    /<polyline fill="none" stroke="#0072b2" stroke-width="2" points="120\.0,[\d.]+ 240\.0,2\.0"/,
  );
  assert.equal((html.match(/<polyline/g) ?? []).length, 1, "web2 has no rate yet: no line");
  assert.match(html, /aria-label="web2: new connections per second"/);
});

Deno.test("TrafficCharts says so when no host reports counters; Overview shows it after the first sample", () => {
  const empty = { at: T0, totals: {}, series: {} };
  assert.match(
    renderToString(<TrafficCharts history={empty} hosts={hosts()} />),
    /no traffic counters \(dataplane off\)/,
  );
  const status = { ...fake().deps.status(), at: 0 };
  assert.doesNotMatch(renderToString(<Overview status={status} />), /New connections/);
  assert.match(
    text(renderToString(<Overview status={status} traffic={empty} />)),
    /New connections per second \(last minute\) no traffic counters \(dataplane off\)/,
  );
});
