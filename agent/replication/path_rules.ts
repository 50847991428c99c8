/**
 * Safety rules for what a replicated tree may contain: entry names, relative paths and
 * symlink targets. An importer applies a tree from another host, so a name like ".." or
 * a link to "/etc" must be refused before anything touches the disk.
 *
 * Relative paths are "a/b/c": no leading "/", no empty, "." or ".." segment. The root
 * directory is "" where a directory is expected (`dir` arguments, `joinRel`).
 *
 * Symlink targets are resolved lexically, from the directory holding the link. That is
 * only sound while every ".." steps out of a real directory, so ".." may appear only at
 * the start of a target ("../../x"), never after a name ("a/../x": if "a" were itself a
 * link, the kernel would climb from wherever "a" points, perhaps out of the tree).
 *
 * Pure: no I/O.
 */

export const NAME_MAX_BYTES = 255;
export const PATH_MAX_BYTES = 4096;

const utf8 = new TextEncoder();
const q = (s: string) => JSON.stringify(s);

/** Why a directory entry name is refused, or undefined: empty, ".", "..", contains "/" or NUL, longer than 255 UTF-8 bytes. */
export function checkName(name: string): string | undefined {
  if (name === "") return "an entry name is empty";
  if (name === "." || name === "..") return `entry name ${q(name)} is reserved`;
  if (name.includes("\0")) return `entry name ${q(name)} contains a NUL byte`;
  if (name.includes("/")) return `entry name ${q(name)} contains "/"`;
  const bytes = utf8.encode(name).length;
  if (bytes > NAME_MAX_BYTES) {
    return `entry name ${
      q(name.slice(0, 40) + "…")
    } is ${bytes} bytes long (at most ${NAME_MAX_BYTES})`;
  }
  return undefined;
}

/** Why a relative path ("a/b/c", no leading "/") is refused, or undefined: absolute, empty segment, ".", "..", NUL, too long (4096 bytes). */
export function checkRelPath(path: string): string | undefined {
  if (path === "") return "a relative path is empty";
  if (path.includes("\0")) return `path ${q(path)} contains a NUL byte`;
  if (path.startsWith("/")) return `path ${q(path)} is absolute (expected relative to the tree)`;
  const bytes = utf8.encode(path).length;
  if (bytes > PATH_MAX_BYTES) {
    return `path ${q(path.slice(0, 40) + "…")} is ${bytes} bytes long (at most ${PATH_MAX_BYTES})`;
  }
  for (const seg of path.split("/")) {
    if (seg === "") return `path ${q(path)} has an empty segment`;
    if (seg === "." || seg === "..") return `path ${q(path)} has a ${q(seg)} segment`;
    const why = checkName(seg);
    if (why) return `path ${q(path)}: ${why}`;
  }
  return undefined;
}

/**
 * Resolves a symlink at directory `dir` (relative path of the directory holding the link,
 * "" = root) with target `target`. Refuses absolute targets, NUL, and targets that leave
 * the tree. `climbs` is true when resolution goes above `dir` itself (e.g. "../x"), false
 * for targets staying in `dir`'s subtree. Empty and "." segments are ignored, as the
 * kernel does; ".." is allowed only before the first name (see the module comment).
 */
export function resolveLink(
  dir: string,
  target: string,
): { ok: true; resolved: string; climbs: boolean } | { ok: false; reason: string } {
  const refuse = (why: string) => ({
    ok: false as const,
    reason: `symlink target ${q(target)} ${why}`,
  });
  if (dir !== "") {
    const why = checkRelPath(dir);
    if (why) return { ok: false, reason: `symlink directory: ${why}` };
  }
  if (target === "") return refuse("is empty");
  if (target.includes("\0")) return refuse("contains a NUL byte");
  if (target.startsWith("/")) return refuse("is absolute (use a path relative to the link)");
  if (utf8.encode(target).length > PATH_MAX_BYTES) {
    return refuse(`is longer than ${PATH_MAX_BYTES} bytes`);
  }
  const stack = dir === "" ? [] : dir.split("/");
  let climbs = false, named = false;
  for (const seg of target.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (named) return refuse(`has ".." after a name (only leading ".." can be checked)`);
      if (stack.length === 0) return refuse("leaves the content tree");
      stack.pop(), climbs = true;
      continue;
    }
    const why = checkName(seg);
    if (why) return refuse(`is refused: ${why}`);
    stack.push(seg), named = true;
  }
  return { ok: true, resolved: stack.join("/"), climbs };
}

/** Joins a directory's relative path and a name ("" + "a" = "a"). */
export function joinRel(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}
