/**
 * The overview: the cluster's summary, its hosts and who owns which bucket. `Overview` is
 * render-only; `OverviewPage` adds the host commands and their confirmation.
 */
import { useState } from "preact/hooks";
import type { PanelStatus } from "../api/status_api.ts";
import type { HostCommand } from "../deps.ts";
import { api } from "./api.ts";
import { BucketMap, ShareBars } from "./bucket_map.tsx";
import { ConfirmDialog } from "./confirm_dialog.tsx";
import { formatAge, formatTime } from "./format.ts";
import { HostsTable } from "./hosts_table.tsx";
import { TrafficCharts, type TrafficHistory } from "./traffic.tsx";

const WHAT: Record<HostCommand, string> = {
  drainstop:
    "stops taking new connections, lets established ones finish (up to the drain timeout), then stops",
  stop: "stops handling cluster traffic at once; the other hosts take its share",
  start: "resumes handling cluster traffic after stop or drainstop",
  suspend: "stops handling traffic and ignores every command but resume",
  resume: "leaves the suspended state and handles traffic again",
};

export function ClusterSummary({ status }: { status: PanelStatus }) {
  const lc = status.lastConvergence;
  return (
    <dl class="summary">
      <div>
        <dt>Cluster IP</dt>
        <dd>{status.clusterIp}</dd>
      </div>
      <div>
        <dt>Mode</dt>
        <dd>{status.mode}</dd>
      </div>
      <div>
        <dt>Epoch</dt>
        <dd>{status.epoch}</dd>
      </div>
      <div>
        <dt>Converged</dt>
        <dd class={status.converged ? "ok" : "warn"}>{status.converged ? "yes" : "no"}</dd>
      </div>
      <div>
        <dt>Last convergence</dt>
        <dd>{lc ? `${formatTime(lc.at)} (${formatAge(lc.durationMs)})` : "—"}</dd>
      </div>
      <div>
        <dt>Config version</dt>
        <dd>{status.configVersion}</dd>
      </div>
    </dl>
  );
}

export function Overview(
  { status, onAction, traffic }: {
    status: PanelStatus;
    onAction?: (host: string, command: HostCommand) => void;
    /** Live traffic from the stream; the section is left out until the first sample. */
    traffic?: TrafficHistory;
  },
) {
  const maps = status.bucketOwners;
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Cluster {status.clusterId}</h1>
      <ClusterSummary status={status} />
      <h2>Hosts</h2>
      <HostsTable hosts={status.hosts} onAction={onAction} />
      {traffic && (
        <>
          <h2>New connections per second (last minute)</h2>
          <TrafficCharts history={traffic} hosts={status.hosts} />
        </>
      )}
      <h2>Bucket map</h2>
      {maps
        ? (Object.keys(maps).length
          ? (
            <div class="maps">
              {Object.entries(maps).map(([id, owners]) => (
                <BucketMap key={id} ruleId={id} owners={owners} hosts={status.hosts} />
              ))}
            </div>
          )
          : <p>No rule shares traffic by bucket (no rule in mode multiple).</p>)
        : <ShareBars hosts={status.hosts} />}
    </section>
  );
}

interface Pending {
  host: string;
  command: HostCommand;
  busy: boolean;
  error?: string;
}

export function OverviewPage(
  { status, traffic, notify }: {
    status: PanelStatus;
    traffic?: TrafficHistory;
    notify: (message: string) => void;
  },
) {
  const [pending, setPending] = useState<Pending | undefined>();
  const run = async () => {
    if (!pending) return;
    setPending({ ...pending, busy: true, error: undefined });
    try {
      await api.command(pending.host, pending.command);
      setPending(undefined);
      notify(`${pending.command} sent to ${pending.host}`);
    } catch (e) {
      setPending({ ...pending, busy: false, error: (e as Error).message });
    }
  };
  return (
    <>
      <Overview
        status={status}
        traffic={traffic}
        onAction={(host, command) => setPending({ host, command, busy: false })}
      />
      {pending && (
        <ConfirmDialog
          title={`${pending.command} ${pending.host}?`}
          confirmLabel={`${pending.command} ${pending.host}`}
          busy={pending.busy}
          error={pending.error}
          onConfirm={run}
          onCancel={() => setPending(undefined)}
        >
          <p>
            <strong>{pending.host}</strong> {WHAT[pending.command]}.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
