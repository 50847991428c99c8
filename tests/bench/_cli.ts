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
