/**
 * What the agents themselves logged about one measured sync (`content.*` events, read
 * from their SQLite event logs): how long the exporter took to make the generation and
 * how many bytes it read, how long each importer took to stage it and what it fetched.
 * The payload beside the wire bytes, to tell our protocol's overhead from the data.
 */
import { readEvents } from "./_events.ts";
import type { ReplLab } from "./_repl_lab.ts";

export interface AgentAccount {
  /** content.generation on the exporter: "made in N ms", bytes read from the source. */
  exporter: {
    gen: number;
    made_ms: number | null;
    read_bytes: number;
    /** Where the time went: the scan, and staging (materialize and the durability barrier). */
    phases_ms?: unknown;
  }[];
  /** content.staged per importer: "staged in N ms", chunk bytes fetched and reused. */
  staged: Record<
    string,
    {
      gen: number;
      staged_ms: number | null;
      fetched_bytes: number;
      fetched_chunks: number;
      local_bytes: number;
      /** Where the time went: the trees, the files, staging (materialize and the barrier). */
      phases_ms?: unknown;
    }[]
  >;
}

/** The `content.generation` and `content.staged` events logged at or after `since` (wall ms). */
export function agentAccount(r: ReplLab, since: number): AgentAccount {
  const ms = (m: string, what: string) => {
    const x = new RegExp(`${what} in (\\d+) ms`).exec(m);
    return x ? Number(x[1]) : null;
  };
  const num = (v: unknown) => (typeof v === "number" ? v : 0);
  const out: AgentAccount = { exporter: [], staged: {} };
  try {
    for (const e of readEvents(r.exporter.stateDir, ["content.generation"], since)) {
      out.exporter.push({
        gen: num(e.details.gen),
        made_ms: ms(e.message, "made"),
        read_bytes: num(e.details.readBytes),
        phases_ms: e.details.ms,
      });
    }
    for (const h of r.importers) {
      out.staged[h.name] = readEvents(h.stateDir, ["content.staged"], since).map((e) => ({
        gen: num(e.details.gen),
        staged_ms: ms(e.message, "staged"),
        fetched_bytes: num(e.details.fetchedBytes),
        fetched_chunks: num(e.details.fetchedChunks),
        local_bytes: num(e.details.localBytes),
        phases_ms: e.details.ms,
      }));
    }
  } catch (e) {
    // The account is a detail: a log that cannot be read leaves it partial, not the bench failed.
    (out as AgentAccount & { error?: string }).error = (e as Error).message;
  }
  return out;
}

/**
 * Kinds that mean something went wrong (or was held back) while a case ran: replication's,
 * and an agent whose loop stalled past the peers' suspicion time (a long GC pause or a
 * blocked event loop) or a peer declared down.
 */
const TROUBLE = [
  "host.stalled",
  "peer.down",
  "content.corrupt",
  "content.held",
  "content.publish_failed",
  "content.rejected",
  "content.scan_failed",
  "content.stage_failed",
  "content.verify_failed",
];

/** Every host's trouble events since the lab started (at most 10, oldest first): [] when clean. */
export function agentTrouble(r: ReplLab): string[] {
  const out: string[] = [];
  for (const h of r.lab.hosts) {
    try {
      for (const e of readEvents(h.stateDir, TROUBLE, 0)) {
        out.push(`${h.name} ${e.kind}: ${e.message}`);
      }
    } catch (e) {
      out.push(`${h.name}: cannot read the event log: ${(e as Error).message}`);
    }
  }
  return out.slice(0, 10);
}
