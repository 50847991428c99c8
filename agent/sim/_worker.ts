/** A worker of main.ts's pool: runs one scenario per message and posts its metrics back. */
import { runScenario, type ScenarioName } from "./scenarios.ts";

export interface Job {
  id: number;
  scenario: ScenarioName;
  hosts: number;
  seed: number;
  loss5Ms: number;
}

export type JobResult =
  | { id: number; ok: true; metrics: ReturnType<typeof runScenario> }
  | { id: number; ok: false; error: string };

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Job>) => void) | null;
  postMessage(r: JobResult): void;
};

scope.onmessage = (e) => {
  const { id, scenario, hosts, seed, loss5Ms } = e.data;
  try {
    const metrics = runScenario(scenario, hosts, seed, { loss5Ms });
    scope.postMessage({ id, ok: true, metrics });
  } catch (err) {
    scope.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
