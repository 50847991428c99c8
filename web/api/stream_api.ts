/**
 * /api/stream: Server-Sent Events for the live panel.
 *
 *   event: status   the PanelStatus, whenever deps.onChange fires (at most one per
 *                   minStatusGapMs, the last change always sent) and every refreshMs;
 *                   bucketOwners only when they differ from the last sent on this stream
 *   event: event    one new row of this host's event log (polled by afterId every pollMs);
 *                   its SSE id is the row id, so a reconnecting browser resumes after it
 *   event: traffic  { at, totals }: each live host's accepted new connections so far
 *                   (deps.traffic), at once and every trafficMs, when deps.traffic exists
 *   : ping          a comment every heartbeatMs
 *
 * The stream ends when the client goes away or deps.shutdown is aborted.
 */
import { Hono } from "hono";
import type { PanelDeps, StreamTimings } from "../deps.ts";
import type { PanelEnv } from "./_http.ts";
import { statusPayload } from "./status_api.ts";

const POLL_BATCH = 500;

/** The `traffic` message: totals by host name, taken at `at` (wall-clock ms). */
export interface TrafficSample {
  at: number;
  totals: Record<string, number>;
}

export function streamApi(deps: PanelDeps, timings: StreamTimings): Hono<PanelEnv> {
  return new Hono<PanelEnv>().get("/", (c) => {
    const resumeAfter = Number(c.req.header("last-event-id"));
    const enc = new TextEncoder();
    let stop = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        let closed = false;
        const send = (text: string) => {
          if (closed) return;
          try {
            controller.enqueue(enc.encode(text));
          } catch {
            stop();
          }
        };

        let lastSent = -Infinity;
        let pending: ReturnType<typeof setTimeout> | undefined;
        let ownersKey = "";
        const sendStatus = () => {
          pending = undefined;
          lastSent = performance.now();
          const s = statusPayload(deps);
          const key = JSON.stringify(s.bucketOwners ?? null);
          if (key === ownersKey) delete s.bucketOwners;
          else ownersKey = key;
          send(`event: status\ndata: ${JSON.stringify(s)}\n\n`);
        };
        const statusSoon = () => {
          if (pending !== undefined) return;
          const wait = Math.max(0, lastSent + timings.minStatusGapMs - performance.now());
          pending = setTimeout(sendStatus, wait);
        };

        let lastId = Number.isSafeInteger(resumeAfter) && resumeAfter >= 0
          ? resumeAfter
          : deps.events.query({ limit: 1 })[0]?.id ?? 0;
        const poll = () => {
          try {
            for (
              const e of deps.events.query({ afterId: lastId, order: "asc", limit: POLL_BATCH })
            ) {
              lastId = e.id;
              send(`event: event\nid: ${e.id}\ndata: ${JSON.stringify(e)}\n\n`);
            }
          } catch (err) {
            send(`event: failure\ndata: ${JSON.stringify({ error: String(err) })}\n\n`);
            stop();
          }
        };

        let trafficBusy = false;
        const sendTraffic = async () => {
          if (!deps.traffic || trafficBusy) return;
          trafficBusy = true;
          try {
            const totals = await deps.traffic();
            const sample: TrafficSample = { at: deps.now(), totals };
            send(`event: traffic\ndata: ${JSON.stringify(sample)}\n\n`);
          } catch {
            /* no sample this time; the chart skips it */
          } finally {
            trafficBusy = false;
          }
        };

        const unsubscribe = deps.onChange(statusSoon);
        const timers = [
          setInterval(poll, timings.pollMs),
          setInterval(statusSoon, timings.refreshMs),
          setInterval(() => send(": ping\n\n"), timings.heartbeatMs),
          ...(deps.traffic ? [setInterval(sendTraffic, timings.trafficMs)] : []),
        ];
        const onShutdown = () => stop();
        stop = () => {
          if (closed) return;
          closed = true;
          deps.shutdown?.removeEventListener("abort", onShutdown);
          unsubscribe();
          timers.forEach(clearInterval);
          clearTimeout(pending);
          try {
            controller.close();
          } catch { /* already cancelled */ }
        };
        c.req.raw.signal?.addEventListener("abort", () => stop());
        deps.shutdown?.addEventListener("abort", onShutdown, { once: true });
        send("retry: 2000\n\n");
        sendStatus();
        sendTraffic();
        if (deps.shutdown?.aborted) stop();
      },
      cancel() {
        stop();
      },
    });
    return new Response(body, {
      headers: {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
      },
    });
  });
}
