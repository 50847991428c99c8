/** One probe of the local service: a TCP connect or an HTTP GET, within a timeout. */
import type { HealthCheck } from "../cluster/config.ts";

export async function probeService(check: HealthCheck): Promise<{ ok: boolean; reason: string }> {
  const t0 = performance.now();
  const took = () => `${Math.round(performance.now() - t0)} ms`;
  try {
    if (check.kind === "tcp") {
      const conn = await withTimeout(
        Deno.connect({ hostname: "127.0.0.1", port: check.port }),
        check.timeoutMs,
      );
      conn.close();
      return { ok: true, reason: `tcp 127.0.0.1:${check.port} accepted in ${took()}` };
    }
    const res = await fetch(check.url, {
      signal: AbortSignal.timeout(check.timeoutMs),
      redirect: "manual",
    });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 400;
    return { ok, reason: `GET ${check.url} answered ${res.status} in ${took()}` };
  } catch (e) {
    const what = check.kind === "tcp" ? `tcp 127.0.0.1:${check.port}` : `GET ${check.url}`;
    const why = e instanceof Error && e.name === "TimeoutError"
      ? `no answer within ${check.timeoutMs} ms`
      : (e as Error).message;
    return { ok: false, reason: `${what}: ${why}` };
  }
}

function withTimeout<T extends Deno.Conn>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.then((c) => c.close(), () => {});
      const e = new Error(`no answer within ${ms} ms`);
      e.name = "TimeoutError";
      reject(e);
    }, ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
