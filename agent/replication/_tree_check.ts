/**
 * Structural checks on a tree received from another host, before the content store keeps
 * it: a tree's hash proves only that it is the tree the sender meant, not that it is safe
 * to write to disk ("../x" as a name, a negative size, two entries with one name).
 * Symlink targets are checked where the directory is known (materialization), with
 * path_rules.resolveLink.
 *
 * Pure: no I/O.
 */
import { checkName } from "./path_rules.ts";
import { isHash, type Tree, type TreeEntry } from "./tree.ts";

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
const isMode = (n: unknown): n is number => isCount(n) && (n as number) <= 0o7777;

/** Why `tree` is refused, or undefined when every entry is well-formed. */
export function checkTree(tree: Tree): string | undefined {
  const seen = new Set<string>();
  for (const e of tree.entries as unknown[]) {
    const why = checkEntry(e);
    if (why) return why;
    const name = (e as TreeEntry).name;
    if (seen.has(name)) return `two entries are named ${JSON.stringify(name)}`;
    seen.add(name);
  }
  return undefined;
}

function checkEntry(x: unknown): string | undefined {
  if (typeof x !== "object" || x === null) return "an entry is not an object";
  const e = x as Record<string, unknown>;
  if (typeof e.name !== "string") return "an entry has no name";
  const bad = checkName(e.name);
  if (bad) return bad;
  const at = `entry ${JSON.stringify(e.name)}`;
  switch (e.type) {
    case "file": {
      if (!isMode(e.mode)) return `${at}: mode ${e.mode} is not 0..0o7777`;
      if (!isCount(e.size)) return `${at}: size ${e.size} is not a whole number`;
      if (!Number.isSafeInteger(e.mtimeMs)) return `${at}: mtimeMs ${e.mtimeMs} is not whole`;
      if (!isHash(e.hash)) return `${at}: hash is not a SHA-256 hex digest`;
      if (e.chunks === undefined) return undefined;
      if (!Array.isArray(e.chunks)) return `${at}: chunks is not a list`;
      let sum = 0;
      for (const c of e.chunks as { hash?: unknown; size?: unknown }[]) {
        if (!c || !isHash(c.hash) || !isCount(c.size) || c.size === 0) {
          return `${at}: a chunk has no valid hash or size`;
        }
        sum += c.size;
      }
      if (sum !== e.size) return `${at}: chunks add up to ${sum} bytes, not ${e.size}`;
      return undefined;
    }
    case "dir":
      if (!isMode(e.mode)) return `${at}: mode ${e.mode} is not 0..0o7777`;
      if (!isHash(e.tree)) return `${at}: tree is not a SHA-256 hex digest`;
      if (!isCount(e.files) || !isCount(e.bytes)) return `${at}: files/bytes are not counts`;
      return undefined;
    case "symlink":
      if (typeof e.target !== "string" || e.target === "") return `${at}: no symlink target`;
      return undefined;
    default:
      return `${at}: unknown type ${JSON.stringify(e.type)}`;
  }
}
