/**
 * The Replication page: polls /api/replication every 2 s while shown (the SSE stream
 * would make every page pay for a status that asks each member), and sends publish,
 * rollback and exporter moves through api.ts, each but a plain publish after a
 * confirmation. The tables and banner are in replication_view.tsx; `ExporterForm` is
 * prop-driven.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type {
  GenerationSummary,
  ReplicationHostStatus,
  ReplicationStatus,
} from "../../agent/replication/status.ts";
import { api } from "./api.ts";
import { ConfirmDialog } from "./confirm_dialog.tsx";
import { checkSourceDir, formatTime } from "./format.ts";
import {
  HistoryTable,
  NotEnabled,
  PendingBanner,
  ReplicationHostsTable,
  ReplicationSummary,
} from "./replication_view.tsx";

const POLL_MS = 2000;

export function ExporterForm(
  { hosts, exporter, busy, onSubmit }: {
    hosts: Pick<ReplicationHostStatus, "name">[];
    exporter: ReplicationStatus["exporter"];
    busy?: boolean;
    onSubmit: (host: string, source: string) => void;
  },
) {
  const [host, setHost] = useState(exporter?.name ?? hosts[0]?.name ?? "");
  const [source, setSource] = useState(exporter?.source ?? "");
  const [problem, setProblem] = useState<string | undefined>();
  return (
    <form
      class="exporter-form"
      aria-labelledby="exporter-title"
      onSubmit={(e) => {
        e.preventDefault();
        const p = checkSourceDir(source.trim()) ??
          (host === exporter?.name && source.trim() === exporter.source
            ? `${host} already exports ${source.trim()}: change the host or the directory`
            : undefined);
        setProblem(p);
        if (!p) onSubmit(host, source.trim());
      }}
    >
      <h2 id="exporter-title">Change the exporter</h2>
      <p class="hint">
        The exporter scans its source directory and offers each change as a new generation to the
        other hosts.
      </p>
      {problem && <p class="notice error" role="alert" id="exporter-error">{problem}</p>}
      <div class="fields">
        <label>
          Host
          <select name="host" value={host} onChange={(e) => setHost(e.currentTarget.value)}>
            {hosts.map((h) => <option key={h.name} value={h.name}>{h.name}</option>)}
          </select>
        </label>
        <label>
          Source directory
          <input
            name="source"
            value={source}
            onInput={(e) => setSource(e.currentTarget.value)}
            placeholder="/srv/www"
            required
            spellcheck={false}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? "exporter-error" : undefined}
          />
        </label>
      </div>
      <button type="submit" disabled={busy}>Move the exporter…</button>
    </form>
  );
}

type Action =
  | { kind: "release"; gen: number; removed: number; total: number }
  | { kind: "rollback"; g: GenerationSummary }
  | { kind: "exporter"; host: string; source: string };

export function ReplicationPage({ notify }: { notify: (message: string) => void }) {
  const [status, setStatus] = useState<ReplicationStatus | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [asking, setAsking] = useState<{ action: Action; busy: boolean; error?: string }>();
  const [publishing, setPublishing] = useState(false);
  const [publishError, setPublishError] = useState<string | undefined>();
  const inFlight = useRef(false);

  const load = () => {
    if (inFlight.current || document.hidden) return;
    inFlight.current = true;
    api.replication().then((s) => {
      setStatus(s);
      setLoadError(undefined);
    }, (e) => setLoadError(e.message)).finally(() => inFlight.current = false);
  };
  useEffect(() => {
    load();
    const t = setInterval(load, POLL_MS);
    return () => clearInterval(t);
  }, []);

  const publish = async () => {
    setPublishing(true);
    setPublishError(undefined);
    try {
      notify((await api.publishNow(false)).message);
      load();
    } catch (e) {
      setPublishError((e as Error).message);
    } finally {
      setPublishing(false);
    }
  };

  const run = async () => {
    if (!asking) return;
    const a = asking.action;
    setAsking({ ...asking, busy: true, error: undefined });
    try {
      const r = a.kind === "release"
        ? await api.publishNow(true)
        : a.kind === "rollback"
        ? await api.rollback(a.g.gen)
        : await api.setExporter(a.host, a.source);
      setAsking(undefined);
      notify(r.message);
      load();
    } catch (e) {
      setAsking({ ...asking, busy: false, error: (e as Error).message });
    }
  };

  const s = status;
  const busy = publishing || !!asking?.busy;
  return (
    <section aria-labelledby="replication-title">
      <h1 id="replication-title">Content replication</h1>
      {loadError && <p class="notice error" role="alert">{loadError}</p>}
      {!s && !loadError && <p>Loading…</p>}
      {s && !s.enabled && <NotEnabled />}
      {s?.enabled && (
        <>
          <ReplicationSummary status={s} />
          {s.pending && (
            <PendingBanner
              pending={s.pending}
              onPublish={() =>
                setAsking({ action: { kind: "release", ...s.pending! }, busy: false })}
            />
          )}
          <div class="toolbar">
            <button type="button" onClick={publish} disabled={busy}>
              {publishing ? "Publishing…" : "Publish now"}
            </button>
          </div>
          {publishError && <p class="notice error" role="alert">{publishError}</p>}
          <h2>Hosts</h2>
          <ReplicationHostsTable hosts={s.hosts} />
          <h2>Generations</h2>
          <HistoryTable
            history={s.history}
            offered={s.offered}
            onRollback={(g) => setAsking({ action: { kind: "rollback", g }, busy: false })}
          />
          <ExporterForm
            key={`${s.exporter?.name}:${s.exporter?.source}`}
            hosts={s.hosts}
            exporter={s.exporter}
            busy={busy}
            onSubmit={(host, source) =>
              setAsking({ action: { kind: "exporter", host, source }, busy: false })}
          />
        </>
      )}
      {asking && (
        <ConfirmDialog
          {...confirmText(asking.action)}
          busy={asking.busy}
          error={asking.error}
          onConfirm={run}
          onCancel={() => setAsking(undefined)}
        />
      )}
    </section>
  );
}

/** The title, button and explanation of each confirmation. */
export function confirmText(a: Action) {
  switch (a.kind) {
    case "release":
      return {
        title: `Publish generation ${a.gen} anyway?`,
        confirmLabel: "Publish anyway",
        children: (
          <p>
            It removes {a.removed} of {a.total}{" "}
            files from the content every host serves. Publish it only if these removals are
            intended.
          </p>
        ),
      };
    case "rollback":
      return {
        title: `Roll back to generation ${a.g.gen}?`,
        confirmLabel: `Roll back to ${a.g.gen}`,
        children: (
          <p>
            Generation {a.g.gen} ({formatTime(a.g.createdMs)}, {a.g.files}{" "}
            files) is published again as a new generation. It is held until you publish it; then
            every host serves it.
          </p>
        ),
      };
    case "exporter":
      return {
        title: `Move the exporter to ${a.host}?`,
        confirmLabel: `Move to ${a.host}`,
        children: (
          <p>
            <strong>{a.host}</strong> will export{" "}
            <code>{a.source}</code>: at the next publish its content replaces what every host
            serves.
          </p>
        ),
      };
  }
}
