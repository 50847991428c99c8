/**
 * A process's CPU time from /proc/<pid>/stat (Linux), for the benches: utime + stime, and
 * with `children` its reaped children's too (cutime + cstime), in seconds (clock ticks of
 * 1/100 s). null once the process is gone.
 */
export function cpuSeconds(pid: number | "self", children = false): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the ")" that closes the command name: state is field 3, utime 14,
    // stime 15, cutime 16, cstime 17.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
    return ticks / 100;
  } catch {
    return null;
  }
}
