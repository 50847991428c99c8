/**
 * The admin panel in a real browser (Chromium through playwright-core) against a real
 * 3-host loopback cluster: log in, see the hosts, drainstop h2 and watch it turn
 * "draining" live over the SSE stream, read the events of that action, log out.
 * A screenshot of each step goes to tests/artifacts/e2e/ (git-ignored).
 *
 * Needs /usr/bin/chromium (CI installs it: apt-get install -y chromium); without it the
 * test is ignored, and its name says so.
 */
import { ok as assert } from "node:assert/strict";
import type { Page } from "playwright-core";
import { LoopbackCluster } from "../../agent/lab/loopback_cluster.ts";
import {
  type Browser,
  CHROMIUM,
  freePort,
  hasChromium,
  hostStates,
  launchChromium,
  waitForTable,
  waitHttp,
} from "./browser.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const COMMAND = [Deno.execPath(), "run", "-A", `${ROOT}main.ts`];
const ARTIFACTS = `${ROOT}tests/artifacts/e2e`;
/** Bound on every wait for the page; the live update itself should take well under 1 s. */
const STEP_MS = 10_000;

const chromium = await hasChromium();

/** A /24 in 127/8 unique to this run, so parallel runs on one machine do not collide. */
function runSubnet(): string {
  return `127.${100 + (Deno.pid % 100)}.${Math.floor(Math.random() * 250) + 1}`;
}

Deno.test({
  name: "the panel logs in, lists the hosts, drainstops h2 live, shows its events, logs out" +
    (chromium ? "" : ` [ignored: ${CHROMIUM} missing; apt-get install -y chromium]`),
  ignore: !chromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await Deno.remove(ARTIFACTS, { recursive: true }).catch(() => {});
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const baseDir = await Deno.makeTempDir({ prefix: "appliance-e2e-" });
    const password = `e2e-${crypto.randomUUID()}`;
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    let lab: LoopbackCluster | undefined;
    let browser: Browser | undefined;
    let page: Page | undefined;
    const pageErrors: string[] = [];
    const shot = (step: string) => page!.screenshot({ path: `${ARTIFACTS}/${step}.png` });
    try {
      await Deno.mkdir(`${baseDir}/www`);
      await Deno.writeTextFile(`${baseDir}/www/index.html`, "<h1>e2e</h1>");
      lab = await LoopbackCluster.create({
        initArgs: ["--content-source", `${baseDir}/www`],
        hosts: 3,
        subnet: runSubnet(),
        baseDir,
        command: COMMAND,
        adminPassword: password,
        panel: (h) => (h.name === "h1" ? `127.0.0.1:${port}` : "off"),
      });
      await lab.waitConverged(15_000);
      await waitHttp(`${url}/api/session`, STEP_MS);
      browser = await launchChromium();
      page = browser.page;
      page.setDefaultTimeout(STEP_MS);
      page.on("pageerror", (e) => pageErrors.push(e.message));

      // 1. Log in.
      await page.goto(url);
      await page.getByLabel("Admin password", { exact: true }).fill(password);
      await shot("0-login");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("heading", { level: 1, name: /^Cluster / }).waitFor();
      await page.getByRole("navigation", { name: "Pages" }).waitFor();
      await page.getByRole("status").filter({ hasText: "live" }).waitFor();
      await shot("1-logged-in");

      // 2. The three hosts, each converged (peers' states come from their heartbeats).
      const hosts = page.getByRole("region", { name: "Hosts" });
      const allConverged = [["h1", "converged"], ["h2", "converged"], ["h3", "converged"]];
      await waitForTable(
        hosts,
        (rows) => JSON.stringify(hostStates(rows)) === JSON.stringify(allConverged),
        STEP_MS,
        "h1, h2 and h3 all converged",
      );
      await hosts.screenshot({ path: `${ARTIFACTS}/2-hosts.png` });

      // 3. Drainstop h2 from its action menu and the confirmation; the state turns
      // "draining" with no reload (a marker on window survives only without one).
      await page.evaluate(() => ((globalThis as { e2eMarker?: number }).e2eMarker = 42));
      let navigations = 0;
      page.on("framenavigated", (f) => f === page!.mainFrame() && navigations++);
      await page.getByLabel("Command for h2").selectOption("drainstop");
      await hosts.getByRole("row").filter({ hasText: /^h2/ }).getByRole("button", {
        name: "Run…",
      }).click();
      const dialog = page.getByRole("dialog", { name: "drainstop h2?" });
      await dialog.waitFor();
      await dialog.getByRole("button", { name: "drainstop h2" }).click();
      await dialog.waitFor({ state: "hidden" });
      await page.getByText("drainstop sent to h2").waitFor();
      await waitForTable(
        hosts,
        (rows) => rows.find((r) => r.Name === "h2")?.State === "draining",
        5_000,
        "h2 draining",
      );
      // Then h1 and h3 converge again without h2 (h1 may show "converging" meanwhile).
      const drained = [["h1", "converged"], ["h2", "draining"], ["h3", "converged"]];
      await waitForTable(
        hosts,
        (rows) => JSON.stringify(hostStates(rows)) === JSON.stringify(drained),
        STEP_MS,
        "h1 and h3 converged, h2 draining",
      );
      assert(navigations === 0, `the page navigated ${navigations} time(s)`);
      assert(
        await page.evaluate(() => (globalThis as { e2eMarker?: number }).e2eMarker) === 42,
        "the page was reloaded",
      );
      await shot("3-h2-draining");

      // 4. The Events page: h1 logged the admin action; h2 logged its state change.
      await page.getByRole("link", { name: "Events" }).click();
      await page.getByRole("heading", { level: 1, name: "Events" }).waitFor();
      assert(
        await page.getByText("drainstop sent to h2").count() === 0,
        "the Overview's notice stays after navigating away",
      );
      const events = page.getByRole("region", { name: "Events" });
      const action = events.getByRole("row").filter({ hasText: 'drainstop on host "h2"' });
      await action.waitFor();
      const actionText = (await action.innerText()).replace(/\s+/g, " ");
      assert(
        /\bh1 info admin\.action admin from 127\.0\.0\.1: drainstop on host "h2"$/.test(
          actionText,
        ),
        actionText,
      );
      await shot("4-events-h1");
      const hostSelect = page.getByRole("combobox", { name: /^Host/ });
      const kindInput = page.getByLabel("Kind", { exact: true });
      await hostSelect.selectOption("h2");
      await kindInput.fill("host.state");
      // What was typed survives the live status refresh (every 2 s) that re-renders the page.
      await page.waitForTimeout(2_500);
      const typed = [await hostSelect.inputValue(), await kindInput.inputValue()];
      assert(JSON.stringify(typed) === '["h2","host.state"]', `the filters reset: ${typed}`);
      await page.getByRole("button", { name: "Apply" }).click();
      const change = events.getByRole("row").filter({ hasText: "converged -> draining" });
      await change.waitFor();
      const changeText = (await change.innerText()).replace(/\s+/g, " ");
      assert(/\bh2 info host\.state converged -> draining$/.test(changeText), changeText);
      await shot("4-events-h2");

      // 4b. The Replication page: every host serves the same content generation.
      await page.getByRole("link", { name: "Replication" }).click();
      await page.getByRole("heading", { level: 1, name: "Content replication" }).waitFor();
      const repl = page.getByRole("region", { name: "Replication by host" });
      await waitForTable(
        repl,
        (rows) =>
          rows.length === 3 && rows.every((r) => r.Serves !== "—" && r.Serves === rows[0].Serves) &&
          rows.some((r) => r.Role === "exporter"),
        STEP_MS,
        "h1, h2 and h3 serving one generation",
      );
      await shot("4-replication");

      // 5. Log out: the login page is back and the old session no longer opens the API.
      const [cookie] = await browser.context.cookies(url);
      assert(cookie?.name === "appliance_session", JSON.stringify(cookie));
      await page.getByRole("button", { name: "Log out" }).click();
      await page.getByLabel("Admin password", { exact: true }).waitFor();
      await page.getByRole("heading", { level: 1, name: "appliance admin" }).waitFor();
      assert((await browser.context.cookies(url)).length === 0, "the cookie is gone");
      const fromBrowser = await page.request.get(`${url}/api/status`);
      assert(fromBrowser.status() === 401, `browser: /api/status ${fromBrowser.status()}`);
      const oldCookie = await fetch(`${url}/api/status`, {
        headers: { cookie: `${cookie.name}=${cookie.value}` },
      });
      await oldCookie.body?.cancel();
      assert(oldCookie.status === 401, `old session cookie: /api/status ${oldCookie.status}`);
      await shot("5-logged-out");

      assert(pageErrors.length === 0, `errors in the page: ${pageErrors.join("; ")}`);
    } catch (e) {
      await page?.screenshot({ path: `${ARTIFACTS}/failure.png` }).catch(() => {});
      throw e;
    } finally {
      await browser?.close();
      await lab?.cleanup();
      await Deno.remove(baseDir, { recursive: true }).catch(() => {});
    }
  },
});
