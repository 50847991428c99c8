/**
 * Who owns which bucket: one grid per `multiple` rule, a cell per bucket coloured by its
 * owner (runs of equal owners drawn as one rectangle). ShareBars is the fallback when the
 * agent does not send bucket owners: each host's share as a proportional bar.
 */
import type { HostStatus } from "../../agent/cluster/status.ts";
import { bucketRuns, countOwners, formatShare, hostColors, UNOWNED_COLOR } from "./format.ts";

interface MapProps {
  ruleId: string;
  owners: number[];
  hosts: HostStatus[];
}

export function BucketMap({ ruleId, owners, hosts }: MapProps) {
  const cols = Math.ceil(Math.sqrt(owners.length)) || 1;
  const rows = Math.ceil(owners.length / cols);
  const colors = hostColors(hosts);
  const counts = countOwners(owners);
  const name = (id: number) =>
    id === 0 ? "unassigned" : hosts.find((h) => h.id === id)?.name ?? `#${id}`;
  const summary = [...counts].sort((a, b) => b[1] - a[1]).map(([id, n]) => `${name(id)} ${n}`);
  const titleId = `bm-${ruleId}`;
  return (
    <figure class="bucket-map">
      <svg
        viewBox={`0 0 ${cols} ${rows}`}
        role="img"
        aria-labelledby={titleId}
        preserveAspectRatio="xMidYMid meet"
        shape-rendering="crispEdges"
      >
        <title id={titleId}>
          Rule {ruleId}: {owners.length} buckets; {summary.join(", ")}
        </title>
        {bucketRuns(owners, cols).map((r) => (
          <rect
            key={`${r.x},${r.y}`}
            x={r.x}
            y={r.y}
            width={r.width}
            height={1}
            fill={colors.get(r.owner) ?? UNOWNED_COLOR}
          />
        ))}
      </svg>
      <figcaption>
        <strong>{ruleId}</strong> ({owners.length} buckets)
        <ul class="legend">
          {[...counts].map(([id, n]) => (
            <li key={id}>
              <span class="swatch" style={{ background: colors.get(id) ?? UNOWNED_COLOR }} />
              {name(id)}: {n}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

export function ShareBars({ hosts }: { hosts: HostStatus[] }) {
  const colors = hostColors(hosts);
  return (
    <div class="share-bars">
      <div
        class="bar"
        role="img"
        aria-label={hosts.map((h) => `${h.name} ${formatShare(h.share)}`).join(", ")}
      >
        {hosts.filter((h) => h.share > 0).map((h) => (
          <span
            key={h.id}
            title={`${h.name}: ${formatShare(h.share)}`}
            style={{ width: `${h.share * 100}%`, background: colors.get(h.id) }}
          />
        ))}
      </div>
      <ul class="legend">
        {hosts.map((h) => (
          <li key={h.id}>
            <span class="swatch" style={{ background: colors.get(h.id) }} />
            {h.name}: {formatShare(h.share)}
          </li>
        ))}
      </ul>
      <p class="hint">
        Shares of all buckets; this agent does not report the owner of each bucket.
      </p>
    </div>
  );
}
