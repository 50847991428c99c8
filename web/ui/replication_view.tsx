/**
 * The Replication page's render-only parts: the summary, the held-generation banner, the
 * hosts and the kept generations. web/ui/replication.tsx adds the actions.
 */
import {
  formatBytes,
  type GenerationSummary,
  type ReplicationHostStatus,
  type ReplicationStatus,
} from "../../agent/replication/status.ts";
import { formatAge, formatTime, plural } from "./format.ts";

/** "—" for generation 0 (none yet). */
const gen = (n: number) => n > 0 ? String(n) : "—";

export function ReplicationSummary({ status }: { status: ReplicationStatus }) {
  const ex = status.exporter;
  const current = status.hosts.filter((h) => h.lagGens === 0).length;
  return (
    <dl class="summary">
      <div>
        <dt>Exporter</dt>
        <dd>
          {ex ? ex.name : "none"}
          {ex && <code class="hint source">{ex.source}</code>}
        </dd>
      </div>
      <div>
        <dt>Committed generation</dt>
        <dd>{gen(status.committed)}</dd>
      </div>
      <div>
        <dt>Offered generation</dt>
        <dd class={status.offered > status.committed ? "warn" : undefined}>
          {gen(status.offered)}
        </dd>
      </div>
      <div>
        <dt>Consistency</dt>
        <dd>{status.consistency}</dd>
      </div>
      <div>
        <dt>Hosts up to date</dt>
        <dd class={current < status.hosts.length ? "warn" : "ok"}>
          {current} of {status.hosts.length}
        </dd>
      </div>
    </dl>
  );
}

/** A generation the exporter holds back (mass deletion, rollback) until it is released. */
export function PendingBanner(
  { pending, onPublish }: {
    pending: NonNullable<ReplicationStatus["pending"]>;
    onPublish?: () => void;
  },
) {
  return (
    <div class="notice warn banner" role="status" aria-labelledby="held-title">
      <p>
        <strong id="held-title">Generation {pending.gen} is held:</strong> {pending.reason}.{" "}
        It removes {pending.removed} of {plural(pending.total, "file")}.
      </p>
      {onPublish && (
        <button type="button" class="danger" onClick={onPublish}>Publish anyway…</button>
      )}
    </div>
  );
}

export function ReplicationHostsTable({ hosts }: { hosts: ReplicationHostStatus[] }) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Replication by host">
      <table class="wide">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col" class="num">Serves</th>
            <th scope="col" class="num">Staged</th>
            <th scope="col">State</th>
            <th scope="col">Lag</th>
            <th scope="col">Progress</th>
            <th scope="col">Last error</th>
            <th scope="col">Published path</th>
          </tr>
        </thead>
        <tbody>
          {hosts.map((h) => (
            <tr key={h.hostId}>
              <th scope="row">{h.name}</th>
              <td>{h.role}</td>
              <td class="num">{gen(h.generation)}</td>
              <td class="num">{gen(h.staged)}</td>
              <td>
                <span class={`state state-${h.state}`}>{h.state}</span>
              </td>
              <td class={h.lagGens > 0 ? "warn nowrap" : "nowrap"}>
                {h.lagGens === 0 ? "up to date" : `${plural(h.lagGens, "generation")} behind` +
                  (h.lagMs === null ? "" : `, ${formatAge(h.lagMs)}`)}
              </td>
              <td>
                <Progress host={h} />
              </td>
              <td class={h.lastError ? "bad" : undefined}>{h.lastError ?? "—"}</td>
              <td>
                <code>{h.publishedPath}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** What is fetched of the generation being staged, as a labelled bar and in words. */
function Progress({ host }: { host: ReplicationHostStatus }) {
  const total = host.bytesDone + host.bytesToGo;
  if (total === 0 && host.objectsToGo === 0) return <>—</>;
  const words = `${formatBytes(host.bytesDone)} of ${formatBytes(total)}`;
  return (
    <div class="progress">
      {total > 0 && (
        <progress
          value={host.bytesDone}
          max={total}
          aria-label={`${host.name}: ${words} fetched`}
        />
      )}
      <span class="hint">
        {words}, {plural(host.objectsToGo, "object")} to go
      </span>
    </div>
  );
}

export function HistoryTable(
  { history, offered, onRollback }: {
    history: GenerationSummary[];
    /** The newest generation: rolling back to it would change nothing. */
    offered: number;
    onRollback?: (g: GenerationSummary) => void;
  },
) {
  if (history.length === 0) return <p>No generation has been published yet.</p>;
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Kept generations">
      <table class="wide">
        <thead>
          <tr>
            <th scope="col" class="num">Gen</th>
            <th scope="col">Created</th>
            <th scope="col" class="num">Files</th>
            <th scope="col" class="num">Size</th>
            <th scope="col" class="num">Added</th>
            <th scope="col" class="num">Modified</th>
            <th scope="col" class="num">Removed</th>
            <th scope="col" class="num">Renamed</th>
            <th scope="col">Note</th>
            {onRollback && <th scope="col">Action</th>}
          </tr>
        </thead>
        <tbody>
          {history.map((g) => (
            <tr key={g.gen}>
              <th scope="row" class="num">{g.gen}</th>
              <td class="nowrap">{formatTime(g.createdMs)}</td>
              <td class="num">{g.files}</td>
              <td class="num nowrap">{formatBytes(g.bytes)}</td>
              <td class="num">{g.added}</td>
              <td class="num">{g.modified}</td>
              <td class="num">{g.removed}</td>
              <td class="num">{g.renamed}</td>
              <td class="nowrap">
                {g.rollbackOf === undefined ? "" : `rollback of ${g.rollbackOf}`}
              </td>
              {onRollback && (
                <td>
                  {g.gen === offered ? <span class="hint">newest</span> : (
                    <button
                      type="button"
                      onClick={() => onRollback(g)}
                      aria-label={`Roll back to generation ${g.gen}`}
                    >
                      Roll back to this…
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function NotEnabled() {
  return (
    <div class="notice">
      <p>
        Directory replication is not enabled: no host exports a content directory to the others.
      </p>
      <p>
        To turn it on, run on a member <code>appliance init --content-source DIR</code>{" "}
        (a new cluster) or <code>appliance replication exporter HOST --source DIR</code>{" "}
        (a running one). This page then shows each host's generation and progress.
      </p>
    </div>
  );
}
