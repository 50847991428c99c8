/**
 * The faults of `bench:failover`, each done to h3 of a fresh 3-host farm while a client
 * opens a new connection every 10 ms. A scenario prepares the farm, injects its fault at a
 * known instant, and afterwards undoes what would otherwise outlive the measurement.
 *
 *   kill9            SIGKILL of h3's agent; its web backend keeps running (a host whose
 *                    agent died: the kernel drops the agent's owner tables with it)
 *   sigstop          SIGSTOP of h3's agent (a hung agent: its bucket leases run out);
 *                    SIGCONT after the measurement
 *   linkdown         h3's link down (h3 lives on, alone, and claims every bucket)
 *   service_stopped  h3's web backend stopped; a tcp health check on :80 when the agent
 *                    has them (`config set health.kind=tcp` is accepted), else none
 *   drainstop        `appliance drainstop --host h3`, drainTimeoutMs=2000
 *   graceful_stop    SIGTERM of h3's agent (a bow-out)
 *   rejoin           h3 killed before the traffic starts (after the client resolved the
 *                    cluster IP); its agent started again
 */
import type { LabHost, NetnsLab } from "../../agent/lab/netns_lab.ts";
import { startTraffic } from "../../agent/lab/traffic.ts";
import { editConfig } from "./_fo_lab.ts";

export interface Scenario {
  name: string;
  /** Extra `config set` pairs at creation. */
  settings?: string[];
  /** Before the traffic starts; returns facts for the report. */
  prepare?(lab: NetnsLab, h: LabHost): Promise<Record<string, unknown>>;
  fault(lab: NetnsLab, h: LabHost): Promise<void>;
  /** After the measurement (the lab is destroyed right after either way). */
  restore?(lab: NetnsLab, h: LabHost): Promise<void>;
  /** After the fault, h cannot reach the client: its owning buckets is no duplicate. */
  isolates?: boolean;
  /** What a client should see (for the report; nothing asserts it). */
  expect: "share_outage" | "no_failures" | "health_dependent";
}

/** The health check turned on for service_stopped: the agent's defaults but for the kind. */
export const HEALTH_SETTINGS = ["health.kind=tcp", "health.port=80"];

export const SCENARIOS: Scenario[] = [
  {
    name: "kill9",
    fault: (lab, h) => lab.kill(h, "SIGKILL"),
    expect: "share_outage",
  },
  {
    name: "sigstop",
    fault: (lab, h) => lab.kill(h, "SIGSTOP"),
    restore: (lab, h) => lab.kill(h, "SIGCONT"),
    expect: "share_outage",
  },
  {
    name: "linkdown",
    fault: (lab, h) => lab.linkDown(h),
    restore: (lab, h) => lab.linkUp(h),
    isolates: true,
    expect: "share_outage",
  },
  {
    name: "service_stopped",
    async prepare(lab) {
      try {
        await editConfig(lab, ["config", "set", ...HEALTH_SETTINGS]);
      } catch (e) {
        return { health_checks: false, health_error: (e as Error).message.slice(0, 200) };
      }
      const first = lab.hosts[0];
      const got = await lab.cli(first, [
        ...["config", "get", "health", "--json", "--state-dir", first.stateDir],
      ]);
      return { health_checks: true, health: JSON.parse(got) };
    },
    fault: (lab, h) => lab.stopBackend(h),
    restore: (lab, h) => lab.startBackend(h),
    expect: "health_dependent",
  },
  {
    name: "drainstop",
    settings: ["drainTimeoutMs=2000"],
    async fault(lab, h) {
      const first = lab.hosts[0];
      await lab.cli(first, ["drainstop", "--host", h.name, "--state-dir", first.stateDir]);
    },
    expect: "no_failures",
  },
  {
    name: "graceful_stop",
    fault: (lab, h) => lab.kill(h, "SIGTERM"),
    expect: "no_failures",
  },
  {
    name: "rejoin",
    async prepare(lab, h) {
      // The client resolves the cluster IP while all three run, as the clients of a farm
      // whose host crashed would have (kill9's new-client probe shows the other case).
      await startTraffic(lab, lab.clients[0], { count: 20, rateMs: 10, durationMs: 500 }).done;
      await lab.kill(h, "SIGKILL");
      await lab.waitConverged(15_000);
      return {};
    },
    fault: (lab, h) => lab.start(h),
    expect: "no_failures",
  },
];

export function scenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) {
    throw new Error(`unknown scenario "${name}" (${SCENARIOS.map((x) => x.name).join(", ")})`);
  }
  return s;
}
