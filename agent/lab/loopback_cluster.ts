/**
 * A cluster of real `appliance run` processes on loopback addresses (127.x.y.z are all
 * local on Linux), each with its own state dir. Used by the demo, the multi-process tests
 * and the cluster benchmark. Needs no root.
 */
import { agentStatus, waitAllConverged, waitForStatus } from "./_agent_status.ts";
import type { ClusterStatus } from "../cluster/status.ts";

export interface LabHost {
  name: string;
  address: string;
  stateDir: string;
  proc?: Deno.ChildProcess;
}

export interface LoopbackOptions {
  hosts: number;
  /** First three octets of the hosts' addresses, e.g. "127.42.7"; host i gets .(10+i). */
  subnet: string;
  /** Parent directory for the state dirs (created; removed by cleanup()). */
  baseDir: string;
  /** How to invoke appliance, e.g. [deno, "run", "-A", "main.ts"]. */
  command: string[];
  clusterIp?: string;
  /** Extra `appliance init` arguments for h1 (e.g. --content-source DIR). */
  initArgs?: string[];
  /** Extra `config set` pairs applied before the other hosts join. */
  settings?: string[];
  /** The admin panel password set at init (default: a random one). */
  adminPassword?: string;
  /** `--panel` for each host (default "off": hosts on one machine would share 8080). */
  panel?: (h: LabHost) => string;
  log?: (line: string) => void;
}

export class LoopbackCluster {
  readonly hosts: LabHost[] = [];
  #o: LoopbackOptions;

  private constructor(o: LoopbackOptions) {
    this.#o = o;
  }

  static async create(o: LoopbackOptions): Promise<LoopbackCluster> {
    const lab = new LoopbackCluster(o);
    try {
      await Deno.mkdir(o.baseDir, { recursive: true });
      for (let i = 1; i <= o.hosts; i++) {
        lab.hosts.push({
          name: `h${i}`,
          address: `${o.subnet}.${10 + i}`,
          stateDir: `${o.baseDir}/h${i}`,
        });
      }
      const [first, ...rest] = lab.hosts;
      const pwArgs: string[] = [];
      if (o.adminPassword) {
        await Deno.writeTextFile(`${o.baseDir}/admin-password`, o.adminPassword, { mode: 0o600 });
        pwArgs.push("--admin-password-file", `${o.baseDir}/admin-password`);
      }
      const init = await lab.cli([
        "init",
        ...pwArgs,
        "--cluster-ip",
        o.clusterIp ?? "198.18.0.100",
        "--interface",
        "lo",
        "--address",
        first.address,
        "--name",
        first.name,
        "--state-dir",
        first.stateDir,
        ...(o.initArgs ?? []),
        "--json",
      ]);
      if (o.settings?.length) {
        await lab.cli(["config", "set", ...o.settings, "--state-dir", first.stateDir]);
      }
      let token = JSON.parse(init).token as string;
      await lab.start(first);
      for (const h of rest) {
        await lab.cli([
          "join",
          `https://${first.address}:7947`,
          "--token",
          token,
          "--interface",
          "lo",
          "--address",
          h.address,
          "--name",
          h.name,
          "--state-dir",
          h.stateDir,
        ]);
        await lab.start(h);
        if (h !== rest[rest.length - 1]) {
          token =
            JSON.parse(await lab.cli(["token", "create", "--json", "--state-dir", first.stateDir]))
              .token;
        }
      }
      return lab;
    } catch (e) {
      await lab.stopAll();
      throw e;
    }
  }

  /** Runs one CLI command to completion; returns stdout or throws with stderr. */
  async cli(args: string[]): Promise<string> {
    const [cmd, ...pre] = this.#o.command;
    const out = await new Deno.Command(cmd, {
      args: [...pre, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(
        `appliance ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
      );
    }
    return text;
  }

  /** Starts a host's agent and waits until its control socket answers. */
  async start(h: LabHost, timeoutMs = 15_000): Promise<void> {
    const [cmd, ...pre] = this.#o.command;
    h.proc = new Deno.Command(cmd, {
      args: [...pre, "run", "--state-dir", h.stateDir, "--panel", this.#o.panel?.(h) ?? "off"],
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).spawn();
    this.#o.log?.(`started ${h.name} (${h.address}) pid ${h.proc.pid}`);
    await this.waitFor(h, () => true, timeoutMs);
  }

  status(h: LabHost): Promise<ClusterStatus> {
    return agentStatus(h);
  }

  /** Polls h's status every 20 ms until `ok` holds; throws after timeoutMs. */
  waitFor(
    h: LabHost,
    ok: (s: ClusterStatus) => boolean,
    timeoutMs: number,
  ): Promise<ClusterStatus> {
    return waitForStatus(h, ok, timeoutMs);
  }

  /** Waits until every running host reports a converged view of exactly the running hosts. */
  waitConverged(timeoutMs = 15_000): Promise<void> {
    return waitAllConverged(this.hosts.filter((h) => h.proc), timeoutMs);
  }

  /** kill -9 (or another signal) a host's agent. */
  async kill(h: LabHost, signal: Deno.Signal = "SIGKILL"): Promise<void> {
    if (!h.proc) return;
    h.proc.kill(signal);
    await h.proc.status;
    h.proc = undefined;
  }

  /** SIGTERM every agent (clean bow-out), then SIGKILL any that lingers. */
  async stopAll(): Promise<void> {
    await Promise.all(this.hosts.map(async (h) => {
      if (!h.proc) return;
      const p = h.proc;
      try {
        p.kill("SIGTERM");
      } catch { /* already gone */ }
      const t = setTimeout(() => {
        try {
          p.kill("SIGKILL");
        } catch { /* gone */ }
      }, 3000);
      await p.status;
      clearTimeout(t);
      h.proc = undefined;
    }));
  }

  async cleanup(): Promise<void> {
    await this.stopAll();
    await Deno.remove(this.#o.baseDir, { recursive: true }).catch(() => {});
  }
}

/** How this program invokes itself: the deno binary with the script, or a compiled binary. */
export function selfCommand(): string[] {
  const exe = Deno.execPath();
  if (/\/deno$/.test(exe)) return [exe, "run", "-A", new URL(Deno.mainModule).pathname];
  return [exe];
}
