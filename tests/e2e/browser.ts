/**
 * The browser harness shared by the panel's end-to-end test and `deno task bench:web`:
 * Debian's Chromium driven by playwright-core, headless, in a fresh profile that is
 * removed on close; a free loopback port for the panel; the hosts table read as rows.
 */
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** No sandbox (CI runs as root), no GPU, and nothing that would reach the network. */
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function hasChromium(): Promise<boolean> {
  try {
    return (await Deno.stat(CHROMIUM)).isFile;
  } catch {
    return false;
  }
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Closes Chromium and removes its profile. */
  close(): Promise<void>;
}

/** Chromium with a fresh profile (empty cache, no cookies), and its first page. */
export async function launchChromium(): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "appliance-chromium-" });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 900 },
    });
  } catch (e) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw new Error(
      `cannot start ${CHROMIUM}: ${(e as Error).message} (install it: apt-get install -y chromium)`,
    );
  }
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context,
    page,
    close: async () => {
      await context.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/** A TCP port on 127.0.0.1 that nothing listens on now, from 18080 up. */
export function freePort(): number {
  for (let i = 0; i < 50; i++) {
    const port = 18080 + Math.floor(Math.random() * 2000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch { /* taken: try another */ }
  }
  throw new Error("no free port in 18080-20079 on 127.0.0.1 (see: ss -ltn)");
}

/** Polls `url` every 50 ms until it answers 2xx; throws with the last failure after timeoutMs. */
export async function waitHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer in ${timeoutMs} ms: ${last}`);
}

/** One row of a table, by column header; a cell's value is the text of its first child. */
export type Row = Record<string, string>;

/**
 * The rows of the hosts table (or any table inside `region`). Taking the first child of
 * each cell keeps the value apart from its decorations: "h1", not "h1this host";
 * "draining", not "draining" plus a refusal hint.
 */
export function readTable(region: Locator): Promise<Row[]> {
  return region.evaluate((el) => {
    const headers = [...el.querySelectorAll("thead th")].map((th) => th.textContent ?? "");
    return [...el.querySelectorAll("tbody tr")].map((tr) =>
      Object.fromEntries(
        [...tr.children].map((cell, i) => [
          headers[i] ?? String(i),
          (cell.firstChild?.textContent ?? "").trim(),
        ]),
      )
    );
  });
}

/** Polls readTable every 50 ms until `ok` holds; throws with the last rows after timeoutMs. */
export async function waitForTable(
  region: Locator,
  ok: (rows: Row[]) => boolean,
  timeoutMs: number,
  what: string,
): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  let rows: Row[] = [];
  let error = "";
  while (Date.now() < deadline) {
    try {
      rows = await readTable(region);
      if (ok(rows)) return rows;
    } catch (e) {
      error = ` (${(e as Error).message.split("\n")[0]})`;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `${what}: not seen in ${timeoutMs} ms; the table showed ${JSON.stringify(rows)}${error}`,
  );
}

/** [name, state] of each row of the hosts table. */
export function hostStates(rows: Row[]): [string, string][] {
  return rows.map((r) => [r.Name, r.State]);
}
