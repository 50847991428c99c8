import { createReplLab, destroyReplLab } from "../bench/_repl_lab.ts";
import { applianceInitial } from "../bench/_repl_measure.ts";
import { writeTree } from "../bench/_repl_data.ts";
const files = 100000;
const r = await createReplLab({ stabilizeMs: 300 });
try {
  Deno.mkdirSync(`${r.stage}/data`, { recursive: true });
  writeTree(`${r.stage}/data`, { files, bytes: files * 2500, dirs: files / 100, seed: 2 });
  const snapped = new Set<string>();
  const watch = setInterval(() => {
    for (const h of r.lab.hosts) {
      const st = Deno.readTextFileSync(`/proc/${h.agent!.pid}/status`);
      const rss = Number(/VmRSS:\s+(\d+)/.exec(st)![1]) / 1024;
      if (Deno.env.get("SNAP") && rss > 230 && !snapped.has(h.name)) {
        snapped.add(h.name);
        console.log("snap", h.name, h.agent!.pid, Math.round(rss));
        Deno.kill(h.agent!.pid, "SIGUSR2");
      }
    }
  }, 200);
  const a = await applianceInitial(r);
  clearInterval(watch);
  console.log("initial ms", a.ms, "scan", a.exporter_scan_ms, JSON.stringify(a.max_rss_mb));
  await new Promise((res) => setTimeout(res, 10000));
} finally {
  await destroyReplLab(r);
}
