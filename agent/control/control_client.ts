/**
 * How the CLI talks to the local agent: HTTP over the unix socket in the state dir
 * (owner-only permissions: whoever can open it may run the cluster).
 */
import { socketPath } from "../state_dir.ts";

export class AgentNotRunning extends Error {}

export async function callAgent<T>(
  stateDir: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<T> {
  const path0 = socketPath(stateDir);
  try {
    Deno.statSync(path0);
  } catch {
    throw new AgentNotRunning(
      `the agent is not running for ${stateDir} (no ${path0}): start it with \`appliance run --state-dir ${stateDir}\``,
    );
  }
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: path0 } });
  try {
    const res = await fetch(`http://agent${path}`, {
      method,
      client,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const out = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(out?.error ?? `the agent answered HTTP ${res.status}`);
    return out as T;
  } catch (e) {
    if (e instanceof TypeError && /connect|refused|No such file/i.test(e.message)) {
      throw new AgentNotRunning(
        `the agent is not running for ${stateDir} (stale socket): start it with \`appliance run --state-dir ${stateDir}\``,
      );
    }
    throw e;
  } finally {
    client.close();
  }
}
