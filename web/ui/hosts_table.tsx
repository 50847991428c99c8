/**
 * The hosts as this host sees them, with an action menu per host. Render-only. The Content
 * column is the replicated content's generation each host serves, marked when it is below
 * the newest in the table.
 */
import type { HostStatus } from "../../agent/cluster/status.ts";
import type { HostCommand } from "../deps.ts";
import { formatAge, formatShare } from "./format.ts";

export const COMMANDS: HostCommand[] = ["drainstop", "stop", "start", "suspend", "resume"];

interface Props {
  hosts: HostStatus[];
  /** Asks to run a command; without it the table has no action column. */
  onAction?: (host: string, command: HostCommand) => void;
}

export function HostsTable({ hosts, onAction }: Props) {
  const newest = Math.max(0, ...hosts.map((h) => h.generation));
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Hosts">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Address</th>
            <th scope="col" class="num">Priority</th>
            <th scope="col" class="num">Weight</th>
            <th scope="col">State</th>
            <th scope="col">Health</th>
            <th scope="col" class="num">Heartbeat age</th>
            <th scope="col" class="num">Share</th>
            <th scope="col" class="num">Content</th>
            {onAction && <th scope="col">Action</th>}
          </tr>
        </thead>
        <tbody>
          {hosts.map((h) => (
            <tr key={h.id}>
              <th scope="row">
                {h.name}
                {h.self && <span class="tag">this host</span>}
              </th>
              <td>{h.address}</td>
              <td class="num">{h.priority}</td>
              <td class="num">{h.weight}</td>
              <td>
                <span class={`state state-${h.state}`}>{h.state}</span>
                {h.refused && <div class="hint">refused: {h.refused}</div>}
              </td>
              <td>
                <Health host={h} />
              </td>
              <td class="num">{h.self ? "this host" : formatAge(h.heartbeatAgeMs)}</td>
              <td class="num">{formatShare(h.share)}</td>
              <Content generation={h.generation} newest={newest} />
              {onAction && (
                <td>
                  <ActionMenu host={h.name} onAction={onAction} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The generation served ("—" for none), "(behind)" when below the newest. */
function Content({ generation, newest }: { generation: number; newest: number }) {
  const behind = generation < newest;
  return (
    <td class={behind ? "num warn" : "num"}>
      {generation > 0 ? generation : "—"}
      {behind && " (behind)"}
    </td>
  );
}

/** The health verdict; its reason (known for this host only) as a tooltip and as text. */
function Health({ host }: { host: HostStatus }) {
  return (
    <>
      <span class={`health health-${host.health}`} title={host.healthReason}>
        {host.health}
      </span>
      {host.self && host.healthReason && <div class="hint">{host.healthReason}</div>}
    </>
  );
}

function ActionMenu(
  { host, onAction }: { host: string; onAction: NonNullable<Props["onAction"]> },
) {
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        const cmd = new FormData(e.currentTarget).get("command") as HostCommand;
        onAction(host, cmd);
      }}
    >
      <select name="command" aria-label={`Command for ${host}`}>
        {COMMANDS.map((c) => <option key={c} value={c}>{c}</option>)}
      </select>
      <button type="submit">Run…</button>
    </form>
  );
}
