/**
 * Which namespace-lab runs exist and who made them. A run's namespaces share a prefix
 * ("apl" + 4 base36 chars + "-"); before creating any, the run writes a marker
 * (/run/appliance-lab/<prefix>lab.json, on tmpfs like /run/netns) naming its process, so
 * cleanupStale() can tell a dead run's leftovers from a live run's namespaces.
 */
import * as net from "./_netns.ts";

const MARKER_DIR = "/run/appliance-lab";
/** Namespaces of any lab run: cleanupStale() looks only at these. */
export const LAB_PREFIX = /^apl[a-z0-9]{4}-/;

/** A fresh prefix: "apl" + 4 random base36 chars + "-". */
export function newPrefix(): string {
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  const rand = crypto.getRandomValues(new Uint8Array(4));
  return `apl${Array.from(rand, (b) => chars[b % 36]).join("")}-`;
}

/** Kills whatever still runs inside `ns` (only lab processes can), then deletes it. */
export async function deleteNamespace(ns: string): Promise<void> {
  for (const pid of await net.netnsPids(ns)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone meanwhile */ }
  }
  await net.delNetns(ns);
}

/**
 * Deletes the namespaces of the lab run with `prefix` (<prefix>br, <prefix>hN, <prefix>cN,
 * by exact name, after killing what runs in them) and its marker. For a demo's signal
 * handler, or after a crash. Returns the names deleted.
 */
export async function cleanupPrefix(prefix: string): Promise<string[]> {
  const mine = new RegExp(`^${prefix.replace(/[^a-z0-9]/g, "\\$&")}(br|h\\d+|c\\d+)$`);
  const names = (await net.listNetns()).filter((n) => mine.test(n));
  for (const ns of names) await deleteNamespace(ns);
  await removeMarker(prefix);
  return names;
}

/**
 * Deletes leftovers of lab runs that died without cleaning up: namespaces matching
 * `pattern` whose marker names a process that is gone. Namespaces without a marker are
 * someone else's and stay. Returns the names deleted.
 */
export async function cleanupStale(pattern = LAB_PREFIX): Promise<string[]> {
  const prefixes = new Set<string>();
  for (const n of await net.listNetns()) {
    const m = pattern.exec(n);
    if (m) prefixes.add(m[0]);
  }
  const removed: string[] = [];
  for (const prefix of prefixes) {
    const marker = readMarker(prefix);
    if (!marker || processStart(marker.pid) === marker.start) continue;
    removed.push(...await cleanupPrefix(prefix));
  }
  return removed;
}

export interface Marker {
  pid: number;
  /** The process's start time (/proc/PID/stat field 22), so a reused pid does not count. */
  start: string;
  baseDir: string;
}

/** Where the run with `prefix` records its creating process. */
export function markerPath(prefix: string): string {
  return `${MARKER_DIR}/${prefix}lab.json`;
}

/** Records this process as the creator of the run with `prefix`. */
export async function writeMarker(prefix: string, baseDir: string): Promise<void> {
  const marker: Marker = { pid: Deno.pid, start: processStart(Deno.pid) ?? "", baseDir };
  await Deno.mkdir(MARKER_DIR, { recursive: true });
  await Deno.writeTextFile(markerPath(prefix), JSON.stringify(marker));
}

export async function removeMarker(prefix: string): Promise<void> {
  await Deno.remove(markerPath(prefix)).catch(() => {});
}

export function readMarker(prefix: string): Marker | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(markerPath(prefix)));
  } catch {
    return undefined;
  }
}

function processStart(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
