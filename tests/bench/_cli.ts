import { busyCores } from "./_fo_lab.ts";

/**
 * How every benchmark starts: its flags parsed (a bad one exits 2 naming the problem),
 * --help printed (exit 0), and root required where it builds network namespaces.
 * Returns the options, or the exit code.
 */
export function benchOptions<O extends object>(
  name: string,
  args: string[],
  parse: (args: string[]) => O | undefined,
  help: string,
  needsRoot = false,
): O | number {
  let o: O | undefined;
  try {
    o = parse(args);
  } catch (e) {
    console.error(`${name}: ${(e as Error).message}`);
    return 2;
  }
  if (o === undefined) {
    console.log(help);
    return 0;
  }
  if (needsRoot && Deno.uid() !== 0) {
    console.error(`${name}: needs root (network namespaces, nftables): run it as root`);
    return 2;
  }
  return o;
}

/**
 * The fields every benchmark's JSON starts with: which benchmark, when, on what Deno and
 * how many cores, how loaded the machine was, and whether it was a --quick run. With
 * `busyCores`, also the cores already busy before any lab exists (sampled for 1 s).
 */
export async function benchHeader(
  name: string,
  quick: boolean,
  o: { busyCores?: boolean } = {},
): Promise<Record<string, unknown>> {
  return {
    bench: name,
    at: new Date().toISOString(),
    deno: Deno.version.deno,
    cores: navigator.hardwareConcurrency,
    loadavg_at_start: Deno.loadavg(),
    ...(o.busyCores && { busy_cores_at_start: await busyCores() }),
    quick,
  };
}
