/**
 * The lab's web server: one per host namespace, run as its own process. Speaks just enough
 * HTTP/1.0: reads the request head, answers `200 OK` with the body `<name>\n`, closes. The
 * traffic generator reads the name to learn which host served it.
 *
 *   deno run -A agent/lab/web_backend.ts --name h1 [--port 80] [--address 0.0.0.0] [--cpu-ms N]
 *
 * --cpu-ms N burns N ms of CPU per request (a stand-in for real work, for throughput
 * benchmarks). Prints "listening ADDRESS:PORT" once bound; stops on SIGTERM or SIGINT.
 */
import process from "node:process";

export interface BackendOptions {
  name: string;
  /** Default 80. */
  port: number;
  /** Default 0.0.0.0: every address in the namespace, the cluster IP included. */
  address: string;
  /** CPU burned per request, in ms (default 0). */
  cpuMs: number;
}

/** Parses the command line; throws with a usage message on bad input. */
export function parseBackendArgs(args: string[]): BackendOptions {
  const o: BackendOptions = { name: "", port: 80, address: "0.0.0.0", cpuMs: 0 };
  for (let i = 0; i < args.length; i++) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new Error(`web_backend: ${flag} needs a value`);
    i++;
    if (flag === "--name") o.name = value;
    else if (flag === "--address") o.address = value;
    else if (flag === "--port") o.port = int(flag, value, 1, 65_535);
    else if (flag === "--cpu-ms") o.cpuMs = int(flag, value, 0, 60_000);
    else {throw new Error(
        `web_backend: unknown option ${flag} (--name, --port, --address, --cpu-ms)`,
      );}
  }
  if (!o.name) throw new Error("web_backend: --name is required (the body of every answer)");
  return o;
}

function int(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`web_backend: ${flag} must be an integer ${min}..${max}, got "${value}"`);
  }
  return n;
}

/** The whole answer, head and body. */
export function response(name: string): Uint8Array {
  const body = `${name}\n`;
  return new TextEncoder().encode(
    `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

/** Serves until the listener closes. */
export async function serve(listener: Deno.Listener, o: BackendOptions): Promise<void> {
  const answer = response(o.name);
  for await (const conn of listener) handle(conn, answer, o.cpuMs);
}

async function handle(conn: Deno.Conn, answer: Uint8Array, cpuMs: number): Promise<void> {
  const buf = new Uint8Array(4096);
  let head = "";
  const giveUp = setTimeout(() => conn.close(), 5_000);
  try {
    // Read the request head (bounded: 16 reads or 5 s), then answer whatever it asked.
    for (let i = 0; i < 16 && !head.includes("\r\n\r\n") && !head.includes("\n\n"); i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      head += new TextDecoder().decode(buf.subarray(0, n));
    }
    if (cpuMs > 0) burn(cpuMs);
    for (let off = 0; off < answer.length;) off += await conn.write(answer.subarray(off));
  } catch {
    // A client that went away is no error for a lab server.
  } finally {
    clearTimeout(giveUp);
    try {
      conn.close();
    } catch { /* already closed by the timer */ }
  }
}

/**
 * Burns `ms` of this process's CPU time (not wall time: when the host shares its cores,
 * a request still costs the same work, so throughput scales with the CPU a host gets).
 */
function burn(ms: number): void {
  const start = cpuMicros();
  let x = 0;
  while (cpuMicros() - start < ms * 1000) {
    for (let i = 0; i < 1000; i++) x = (x * 31 + 7) % 1_000_003;
  }
  if (x < 0) console.log(x);
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

export async function main(args: string[]): Promise<number> {
  let o: BackendOptions;
  try {
    o = parseBackendArgs(args);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const listener = Deno.listen({ hostname: o.address, port: o.port });
  const stop = () => listener.close();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  console.log(`listening ${o.address}:${o.port}`);
  await serve(listener, o).catch(() => {});
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
