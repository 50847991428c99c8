import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import { TimelineChart, TimelineTable } from "../../../web/ui/timeline.tsx";
import type { Timeline } from "../../../web/api/timeline_api.ts";

const NOW = Date.UTC(2026, 0, 31, 12);
const text = (html: string) => html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");

const TIMELINE: Timeline = {
  since: NOW - 3_600_000,
  until: NOW,
  entries: [
    {
      id: 1,
      ts: NOW - 1_800_000,
      kind: "cluster.converged",
      message: "in 200 ms",
      durationMs: 200,
    },
    { id: 2, ts: NOW - 600_000, kind: "peer.down", message: "host web3 is down", peer: "web3" },
    { id: 3, ts: NOW - 599_000, kind: "cluster.converged", message: "in 800 ms", durationMs: 800 },
  ],
};

Deno.test("TimelineChart draws a bar per convergence as tall as it took, and red host markers", () => {
  const html = renderToString(<TimelineChart timeline={TIMELINE} />);
  assert.match(html, /<svg viewBox="0 0 600 180" role="img" aria-labelledby="tl-title">/);
  const heights = [...html.matchAll(/class="bar"[^>]* height="([\d.]+)"/g)].map((m) => +m[1]);
  assert.deepEqual(heights, [35, 140], "heights in proportion to 200 and 800 ms");
  assert.match(html, /<g class="down">.*<text [^>]*>web3<\/text>/);
  assert.match(text(html), /2 convergences \(longest 800 ms\), 1 host down/);
});

Deno.test("TimelineTable lists time, kind, duration and message, newest first", () => {
  const t = text(renderToString(<TimelineTable entries={TIMELINE.entries} />));
  assert.match(t, /Time Kind Duration Message/);
  assert.match(
    t,
    /cluster\.converged 800 ms in 800 ms .* peer\.down — host web3 is down .* 200 ms/,
  );
  assert.match(renderToString(<TimelineTable entries={[]} />), /No convergence or failover/);
});
