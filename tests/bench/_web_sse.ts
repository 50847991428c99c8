/// <reference lib="dom" />
/**
 * Live-update latency: with a logged-in overview open on h1's panel, a host's state is
 * changed through its control socket (drainstop, then start, alternately); the latency is
 * from just before that call to the moment the page's DOM shows another state for the
 * host (a MutationObserver in the page, wall clock performance.timeOrigin + now(), on both
 * sides). The path: the host's heartbeat → h1's driver → /api/stream → Preact → DOM.
 */
import type { Page } from "playwright-core";
import type { LabHost, LoopbackCluster } from "../../agent/lab/loopback_cluster.ts";
import { callAgent } from "../../agent/control/control_client.ts";
import { launchChromium, waitForTable } from "../e2e/browser.ts";
import { allConverged } from "./_lab.ts";
import { progress, sleep } from "./_stats.ts";

export interface SseSample {
  command: "drainstop" | "start";
  /** The state the page showed first after the change. */
  state: string;
  /** T0 → the DOM showed it; → the next frame after that. */
  domMs: number;
  frameMs: number;
  /** T0 → the control socket answered. */
  commandMs: number;
}

export interface SseResult {
  samples: SseSample[];
  /** Page clock minus this process's clock (subtracted from every sample), ms. */
  clockOffsetMs: number;
}

const wallNow = () => performance.timeOrigin + performance.now();

/** Arms a one-shot watcher in the page: the first time `host`'s state cell is not `from`. */
function arm(page: Page, host: string, from: string): Promise<void> {
  return page.evaluate(([host, from]) => {
    type Seen = { state: string; dom: number; frame?: number };
    const g = globalThis as unknown as { __benchSeen?: Seen };
    g.__benchSeen = undefined;
    const now = () => performance.timeOrigin + performance.now();
    const stateOf = () => {
      const region = document.querySelector("[aria-label=Hosts]");
      if (!region) return undefined;
      const heads = [...region.querySelectorAll("thead th")].map((th) => th.textContent);
      const col = heads.indexOf("State");
      for (const tr of region.querySelectorAll("tbody tr")) {
        if (tr.children[0]?.firstChild?.textContent?.trim() !== host) continue;
        return tr.children[col]?.firstChild?.textContent?.trim();
      }
    };
    const observer = new MutationObserver(() => {
      const state = stateOf();
      if (state === undefined || state === from) return;
      observer.disconnect();
      const seen: Seen = { state, dom: now() };
      g.__benchSeen = seen;
      requestAnimationFrame(() => setTimeout(() => (seen.frame = now()), 0));
    });
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  }, [host, from]);
}

/** Page clock − local clock, from the round trip with the least delay of a few. */
async function clockOffset(page: Page): Promise<number> {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 7; i++) {
    const a = wallNow();
    const p = await page.evaluate(() => performance.timeOrigin + performance.now());
    const b = wallNow();
    if (b - a < best.rtt) best = { rtt: b - a, offset: p - (a + b) / 2 };
  }
  return best.offset;
}

export async function measureSse(o: {
  lab: LoopbackCluster;
  url: string;
  cookie: { name: string; value: string };
  /** The host whose state changes (not the one serving the panel). */
  target: LabHost;
  changes: number;
  timeoutMs: number;
}): Promise<SseResult> {
  const { lab, target } = o;
  const viewer = lab.hosts[0];
  const names = lab.hosts.map((h) => h.name);
  const b = await launchChromium();
  try {
    const { context, page } = b;
    await context.addCookies([{ ...o.cookie, url: o.url }]);
    await page.goto(o.url, { timeout: o.timeoutMs });
    const hosts = page.getByRole("region", { name: "Hosts" });
    const stateIs = (s: string) => (rows: Record<string, string>[]) =>
      rows.find((r) => r.Name === target.name)?.State === s;
    await waitForTable(hosts, stateIs("converged"), o.timeoutMs, `${target.name} converged`);
    await page.getByRole("status").filter({ hasText: "live" }).waitFor({ timeout: o.timeoutMs });
    const offset = await clockOffset(page);

    const samples: SseSample[] = [];
    for (let i = 0; i < o.changes; i++) {
      const command = i % 2 === 0 ? "drainstop" : "start";
      const from = command === "drainstop" ? "converged" : "draining";
      // Not in step with the heartbeat timer: start anywhere within its period.
      await sleep(150 + Math.random() * 250);
      await arm(page, target.name, from);
      const t0 = wallNow();
      await callAgent(target.stateDir, "POST", "/command", { command, by: "bench:web" }, 5000);
      const commandMs = wallNow() - t0;
      const deadline = Date.now() + o.timeoutMs;
      let seen: { state: string; dom: number; frame?: number } | undefined;
      while (Date.now() < deadline) {
        seen = await page.evaluate(() =>
          (globalThis as unknown as {
            __benchSeen?: { state: string; dom: number; frame?: number };
          }).__benchSeen
        );
        if (seen?.frame !== undefined) break;
        await sleep(10);
      }
      if (seen?.frame === undefined) {
        throw new Error(
          `${command} ${target.name}: the page showed no change in ${o.timeoutMs} ms`,
        );
      }
      samples.push({
        command,
        state: seen.state,
        domMs: seen.dom - offset - t0,
        frameMs: seen.frame - offset - t0,
        commandMs,
      });
      progress(
        `sse ${i + 1}/${o.changes}: ${command} ${target.name} → "${seen.state}" on the page in ${
          (seen.dom - offset - t0).toFixed(1)
        } ms`,
      );
      // Let the cluster settle, and the page show it, before the next change.
      const settled = command === "drainstop" ? "draining" : "converged";
      await lab.waitFor(
        viewer,
        (s) =>
          s.converged && s.hosts.find((h) => h.name === target.name)?.state === settled &&
          (command === "drainstop" || allConverged(names)(s)),
        o.timeoutMs,
      );
      await waitForTable(hosts, stateIs(settled), o.timeoutMs, `${target.name} ${settled}`);
    }
    return { samples, clockOffsetMs: offset };
  } finally {
    await b.close();
  }
}
