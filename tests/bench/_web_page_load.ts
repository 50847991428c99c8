/// <reference lib="dom" />
/**
 * First page loads of the panel in a cold Chromium (fresh profile: empty cache, no
 * cookies): the bytes the browser received, as encoded on the wire (gzip), summed from
 * CDP Network.loadingFinished, and times from navigation start (performance.now() in the
 * page) until what the admin waits for is in the DOM and the next frame has run.
 *
 *   login     no session: the login form (the password field)
 *   overview  a session cookie set before navigating: the hosts table with every host
 *   sign-in   in the login run: submitting the form → the overview
 */
import type { Page } from "playwright-core";
import { launchChromium } from "../e2e/browser.ts";

export interface LoadSample {
  /** Sum of encodedDataLength of finished responses (headers and gzip bodies). */
  bytes: number;
  /** The same from the Resource Timing API (navigation + resources), as a cross-check. */
  resourceTimingBytes: number;
  /** Body bytes so far of responses still open when measured (the SSE stream). */
  openStreamBytes: number;
  resources: { url: string; bytes: number }[];
  /** Navigation start → the target rendered. */
  readyMs: number;
  fcpMs: number | null;
  domContentLoadedMs: number;
  loadEventMs: number;
  /** Login runs only: the form submitted → the overview rendered. */
  signInMs?: number;
}

/** Installed in every document: records when the login form and the overview appear. */
function recorder(hosts: number) {
  type Mark = { dom: number; frame?: number };
  const g = globalThis as unknown as { __bench: Record<string, Mark> };
  g.__bench = {};
  const mark = (name: string, ok: () => boolean) => {
    if (g.__bench[name] || !ok()) return;
    const m: Mark = { dom: performance.now() };
    g.__bench[name] = m;
    requestAnimationFrame(() => setTimeout(() => (m.frame = performance.now()), 0));
  };
  new MutationObserver(() => {
    mark("login", () => document.querySelector("form.login input[name=password]") !== null);
    mark(
      "overview",
      () => document.querySelectorAll("[aria-label=Hosts] tbody tr").length >= hosts,
    );
  }).observe(document, { childList: true, subtree: true });
  document.addEventListener("submit", () => {
    g.__bench.submit ??= { dom: performance.now() };
  }, true);
}

async function waitMark(page: Page, name: string, timeoutMs: number): Promise<number> {
  await page.waitForFunction(
    (n) =>
      (globalThis as unknown as { __bench?: Record<string, { frame?: number }> }).__bench?.[n]
        ?.frame !== undefined,
    name,
    { timeout: timeoutMs },
  );
  return await page.evaluate(
    (n) =>
      (globalThis as unknown as { __bench: Record<string, { dom: number; frame: number }> })
        .__bench[n].frame,
    name,
  );
}

/**
 * One cold load of `url`; with `cookie` the overview is the target, without it the login
 * form (and then, with `password`, the sign-in).
 */
export async function coldLoad(o: {
  url: string;
  hosts: number;
  cookie?: { name: string; value: string };
  password?: string;
  timeoutMs: number;
}): Promise<LoadSample> {
  const b = await launchChromium();
  try {
    const { context, page } = b;
    if (o.cookie) await context.addCookies([{ ...o.cookie, url: o.url }]);
    await page.addInitScript(recorder, o.hosts);
    const cdp = await context.newCDPSession(page);
    const urls = new Map<string, string>();
    const finished = new Map<string, number>();
    const streamed = new Map<string, number>();
    cdp.on("Network.responseReceived", (e) => urls.set(e.requestId, e.response.url));
    // Chromium counts a still-open response's wire bytes only when it finishes; the SSE
    // stream is not compressed, so its body bytes so far are what crossed the wire.
    cdp.on(
      "Network.dataReceived",
      (e) => streamed.set(e.requestId, (streamed.get(e.requestId) ?? 0) + e.dataLength),
    );
    cdp.on("Network.loadingFinished", (e) => finished.set(e.requestId, e.encodedDataLength));
    await cdp.send("Network.enable");

    await page.goto(o.url, { waitUntil: "commit", timeout: o.timeoutMs });
    const readyMs = await waitMark(page, o.cookie ? "overview" : "login", o.timeoutMs);
    await page.waitForLoadState("load", { timeout: o.timeoutMs });
    // Whatever the app asks for right after rendering (it asks nothing else here).
    await new Promise((r) => setTimeout(r, 300));
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
      const res = performance.getEntriesByType("resource") as PerformanceResourceTiming[];
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      return {
        transfer: nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0),
        fcp: fcp ? fcp.startTime : null,
        dcl: nav.domContentLoadedEventEnd,
        load: nav.loadEventEnd,
      };
    });
    const sample: LoadSample = {
      bytes: [...finished.values()].reduce((a, b) => a + b, 0),
      resourceTimingBytes: timing.transfer,
      openStreamBytes: [...streamed].filter(([id]) => !finished.has(id)).reduce(
        (n, [, b]) => n + b,
        0,
      ),
      resources: [...urls].map(([id, url]) => ({
        url: new URL(url).pathname + new URL(url).search,
        bytes: finished.get(id) ?? streamed.get(id) ?? 0,
      })),
      readyMs,
      fcpMs: timing.fcp,
      domContentLoadedMs: timing.dcl,
      loadEventMs: timing.load,
    };
    if (!o.cookie && o.password) {
      await page.getByLabel("Admin password", { exact: true }).fill(o.password);
      await page.getByRole("button", { name: "Log in" }).click();
      const overview = await waitMark(page, "overview", o.timeoutMs);
      const submit = await page.evaluate(() =>
        (globalThis as unknown as { __bench: Record<string, { dom: number }> }).__bench.submit
          .dom
      );
      sample.signInMs = overview - submit;
    }
    await cdp.detach().catch(() => {});
    return sample;
  } finally {
    await b.close();
  }
}
