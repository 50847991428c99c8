/**
 * Change hints for the exporter's source directory. `Deno.watchFs` events are only hints
 * (it drops events while the event loop is busy): each names a directory to rescan, and
 * the scan reconciles that whole directory with the disk. Hints are held until the
 * source has been quiet for the stabilization window, so a half-uploaded tree is not
 * published; the periodic full verification catches anything no event announced.
 */
export interface SourceWatcherOptions {
  source: string;
  /** Quiet time before the hinted directories are handed over (ms). */
  stabilizeMs: number;
  /** Receives the relative directories to rescan ("" = the root). */
  onChanged(dirs: string[]): void;
  /** The watch failed (the source vanished…): report it; the caller rescans periodically. */
  onError(message: string): void;
}

export class SourceWatcher {
  #o: SourceWatcherOptions;
  #watcher?: Deno.FsWatcher;
  #dirs = new Set<string>();
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;

  constructor(o: SourceWatcherOptions) {
    this.#o = o;
  }

  start(): void {
    try {
      this.#watcher = Deno.watchFs(this.#o.source, { recursive: true });
    } catch (e) {
      this.#o.onError(`cannot watch ${this.#o.source}: ${(e as Error).message}`);
      return;
    }
    (async () => {
      try {
        for await (const ev of this.#watcher!) {
          for (const p of ev.paths) this.hint(p);
        }
      } catch (e) {
        if (!this.#stopped) {
          this.#o.onError(`watching ${this.#o.source} failed: ${(e as Error).message}`);
        }
      }
    })();
  }

  /** Records an absolute path that changed; (re)arms the stabilization window. */
  hint(path: string): void {
    const rel = relativeDir(this.#o.source, path);
    if (rel !== undefined) this.retryLater([rel], this.#o.stabilizeMs);
  }

  /**
   * Adds dirs to the next hand-over and restarts its timer at `ms` (also how files that
   * were still being written are handed over again).
   */
  retryLater(dirs: string[], ms: number): void {
    for (const d of dirs) this.#dirs.add(d);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(), ms);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    try {
      this.#watcher?.close();
    } catch { /* already closed */ }
  }

  #flush(): void {
    if (this.#stopped || this.#dirs.size === 0) return;
    const dirs = [...this.#dirs];
    this.#dirs.clear();
    this.#o.onChanged(dirs);
  }
}

/**
 * The relative directory to rescan for a changed absolute path: its parent (the scan
 * finds whether the entry was added, changed or removed). undefined when outside the source.
 */
export function relativeDir(source: string, path: string): string | undefined {
  const root = source.replace(/\/+$/, "");
  if (path === root) return "";
  if (!path.startsWith(root + "/")) return undefined;
  const rel = path.slice(root.length + 1);
  const slash = rel.lastIndexOf("/");
  return slash < 0 ? "" : rel.slice(0, slash);
}
