/**
 * The cluster config's `replication` section: who exports content from where, and how
 * the cluster publishes it. Configs from before it existed read as replication off.
 *
 * Timings: a change is published `stabilizeMs` after the last write under the source
 * (NT's "guard time"), then importers fetch and stage it; the exporter commits when every
 * live host staged it or reported an error, or `stageTimeoutMs` after it offered it.
 */
export interface ReplicationSettings {
  /** Host id of the exporter: the one host that scans `source` (0: replication off). */
  exporter: number;
  /** Absolute path of the source directory on the exporter, where editors write. */
  source: string;
  /** Quiet time after the last change before a generation is made. Default 2000 ms. */
  stabilizeMs: number;
  /** Full rescan of the source and verification of published files. Default 1 h. */
  verifyIntervalMs: number;
  /** Generations kept for rollback. Default 5. */
  keep: number;
  /**
   * relaxed (default): a host that cannot stage keeps serving the previous generation and
   * is flagged. strict: it also leaves the bucket map until it catches up.
   */
  consistency: "relaxed" | "strict";
  /** A generation deleting more than this % of the files waits for confirmation. Default 50. */
  massDeletePercent: number;
  /** The exporter commits without hosts that have not staged after this long. Default 60 s. */
  stageTimeoutMs: number;
}

export const DEFAULT_REPLICATION: ReplicationSettings = {
  exporter: 0,
  source: "",
  stabilizeMs: 2000,
  verifyIntervalMs: 3_600_000,
  keep: 5,
  consistency: "relaxed",
  massDeletePercent: 50,
  stageTimeoutMs: 60_000,
};

export function validateReplication(r: ReplicationSettings, hostIds: number[]): string[] {
  const errs: string[] = [];
  const int = (n: unknown, lo: number, hi: number) =>
    typeof n === "number" && Number.isInteger(n) && n >= lo && n <= hi;
  if (r.exporter !== 0 && !hostIds.includes(r.exporter)) {
    errs.push(`replication.exporter ${r.exporter} is not a host of this cluster`);
  }
  const source = r.exporter !== 0 ? sourceDirProblem(r.source) : undefined;
  if (source) errs.push(`replication.${source}`);
  if (!int(r.stabilizeMs, 0, 3_600_000)) errs.push("replication.stabilizeMs must be 0..3600000");
  if (!int(r.verifyIntervalMs, 60_000, 604_800_000)) {
    errs.push("replication.verifyIntervalMs must be 60000..604800000 (1 min to 7 days)");
  }
  if (!int(r.keep, 1, 100)) errs.push("replication.keep must be 1..100");
  if (r.consistency !== "relaxed" && r.consistency !== "strict") {
    errs.push("replication.consistency must be relaxed or strict");
  }
  if (!int(r.massDeletePercent, 0, 100)) errs.push("replication.massDeletePercent must be 0..100");
  if (!int(r.stageTimeoutMs, 1000, 86_400_000)) {
    errs.push("replication.stageTimeoutMs must be 1000..86400000");
  }
  return errs;
}

/**
 * Why `dir` cannot be the exporter's source directory, or undefined when it can. The
 * config, the CLI and the panel all check with this one rule.
 */
export function sourceDirProblem(dir: string): string | undefined {
  const example = "an absolute path such as /srv/www";
  if (!dir.startsWith("/")) return `source must be ${example}, got ${JSON.stringify(dir)}`;
  if ([...dir].some((ch) => ch < " " || ch === "\x7f")) {
    return "source must not contain control characters";
  }
  if (dir.split("/").some((p) => p === "." || p === "..")) {
    return "source must not contain . or .. segments: give the directory's real path";
  }
  if (/^\/+$/.test(dir)) return `source cannot be / (the whole filesystem): give ${example}`;
  if (dir.length > 4095) return "source is longer than 4095 characters (PATH_MAX)";
}
