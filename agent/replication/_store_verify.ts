/**
 * Checks a staged generation on disk against its trees, path by path through gens/<N>:
 * every entry present with its type, size, mode and mtime, symlinks with the expected
 * text, no extra entries; with `rehash`, every file's content against its SHA-256.
 */
import { diskLinkTarget, ROOT_MODE } from "./_materialize.ts";
import { joinRel } from "./path_rules.ts";
import type { FileEntry, Generation, Hash, Tree } from "./tree.ts";
import { cooperate, hashFile, isNotFound } from "./_fs.ts";

export interface VerifyView {
  root: string;
  loadTree(h: Hash): Promise<Tree | undefined>;
}

export async function verifyGeneration(
  v: VerifyView,
  g: Generation,
  opts: { rehash: boolean },
): Promise<string[]> {
  const problems: string[] = [];
  const base = `${v.root}/gens/${g.gen}`;
  const walk = async (hash: Hash, rel: string, mode: number) => {
    const dir = rel === "" ? base : `${base}/${rel}`;
    const shown = rel === "" ? "/" : `${rel}/`;
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(dir);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      return void problems.push(`${shown}: missing`);
    }
    if (!st.isDirectory) return void problems.push(`${shown}: not a directory`);
    if ((st.mode! & 0o7777) !== mode) {
      problems.push(`${shown}: mode ${oct(st.mode!)}, expected ${oct(mode)}`);
    }
    const tree = await v.loadTree(hash);
    if (!tree) return void problems.push(`${shown}: tree object ${hash} is missing`);
    const actual = new Set<string>();
    for await (const e of Deno.readDir(dir)) actual.add(e.name);
    for (const e of tree.entries) {
      const path = joinRel(rel, e.name);
      if (!actual.delete(e.name)) {
        problems.push(`${path}: missing`);
        continue;
      }
      await cooperate();
      if (e.type === "dir") await walk(e.tree, path, e.mode);
      else if (e.type === "file") await checkFile(`${dir}/${e.name}`, path, e, opts, problems);
      else {
        const want = diskLinkTarget(v.root, g.gen, rel, e.target);
        const text = await Deno.readLink(`${dir}/${e.name}`).catch(() => undefined);
        if (text === undefined) problems.push(`${path}: not a symlink`);
        else if (want.ok && text !== want.text) {
          problems.push(
            `${path}: symlink to ${JSON.stringify(text)}, expected ${JSON.stringify(want.text)}`,
          );
        }
      }
    }
    for (const extra of actual) problems.push(`${joinRel(rel, extra)}: not in the tree`);
    await cooperate();
  };
  await walk(g.root, "", ROOT_MODE);
  return problems;
}

async function checkFile(
  abs: string,
  path: string,
  e: FileEntry,
  opts: { rehash: boolean },
  problems: string[],
): Promise<void> {
  const st = await Deno.lstat(abs);
  if (!st.isFile) return void problems.push(`${path}: not a regular file`);
  if (st.size !== e.size) problems.push(`${path}: size ${st.size}, expected ${e.size}`);
  if ((st.mode! & 0o7777) !== e.mode) {
    problems.push(`${path}: mode ${oct(st.mode!)}, expected ${oct(e.mode)}`);
  }
  const mtime = st.mtime?.getTime();
  if (mtime !== e.mtimeMs) problems.push(`${path}: mtime ${mtime}, expected ${e.mtimeMs}`);
  if (!opts.rehash) return;
  const got = await hashFile(abs);
  if (got !== e.hash) {
    problems.push(`${path}: content hash ${got.slice(0, 12)}…, expected ${e.hash.slice(0, 12)}…`);
  }
}

const oct = (m: number) => `0${(m & 0o7777).toString(8)}`;
