/**
 * The Transport port on a UDP socket of its own through libc (needs --allow-ffi): sends
 * with sendto(2) at once, and reads every queued datagram with recvfrom(2, MSG_DONTWAIT)
 * from a timer every `drainMs`.
 *
 * Why not node:dgram: Deno delivers a datagram when the event loop completes the socket's
 * receive op, and a loop busy with many other ops completes it late while its timers stay
 * on time. Measured here with 16 loops of async file I/O and 2 ms CPU bursts, a datagram
 * sent every 50 ms: node:dgram and Deno.listenDatagram alike left gaps of 365-513 ms,
 * timers were at most 31 ms late. In bench:replication's 100k-file tree the exporter,
 * serving chunks, declared both importers down dozens of times per sync that way. A
 * timer-driven drain reads them within `drainMs` of the timers' own lateness. A send
 * through node:dgram also left only when the event loop ran (after a long GC, not before).
 */
import {
  AF_INET,
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAGAIN,
  errno,
  libc,
  MSG_DONTWAIT,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCKADDR_IN_SIZE,
  strerror,
} from "../dataplane/libc.ts";
import type { Transport } from "../ports.ts";
import { heartbeatBindError } from "./_heartbeat_bind_error.ts";

/** Largest datagram read; heartbeats are a few hundred bytes. */
const MAX_DATAGRAM = 2048;
/** Datagrams read per drain at most, so a flood cannot hold the event loop. */
const MAX_PER_DRAIN = 256;

/** sockaddr_in for `address` (dotted IPv4) and `port`. */
export function sockaddrIn(address: string, port: number): Uint8Array<ArrayBuffer> {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) {
    throw new Error(`not an IPv4 address: ${JSON.stringify(address)}`);
  }
  const sa = new Uint8Array(SOCKADDR_IN_SIZE);
  const v = new DataView(sa.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port, false);
  sa.set(parts, 4);
  return sa;
}

export class PolledUdpTransport implements Transport {
  #fd: number;
  #port: number;
  #timer?: ReturnType<typeof setInterval>;
  #drainMs: number;
  #dest = new Map<string, Uint8Array<ArrayBuffer>>();
  sendErrors = 0;
  /** Reads that failed other than with nothing queued (EAGAIN). */
  receiveErrors = 0;

  private constructor(fd: number, port: number, drainMs: number) {
    this.#fd = fd;
    this.#port = port;
    this.#drainMs = drainMs;
  }

  /** Binds address:port; throws with a message that says what to check. */
  static bind(address: string, port: number, drainMs = 5): PolledUdpTransport {
    const c = libc();
    const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`cannot open a UDP socket: ${strerror(errno())}`);
    if (c.bind(fd, sockaddrIn(address, port), SOCKADDR_IN_SIZE) < 0) {
      const code = errno();
      c.close(fd);
      const name = code === EADDRINUSE
        ? "EADDRINUSE"
        : code === EADDRNOTAVAIL
        ? "EADDRNOTAVAIL"
        : undefined;
      throw heartbeatBindError(address, port, strerror(code), name);
    }
    return new PolledUdpTransport(fd, port, drainMs);
  }

  send(to: string[], bytes: Uint8Array): void {
    const c = libc(), buf = new Uint8Array(bytes);
    for (const addr of to) {
      let sa = this.#dest.get(addr);
      if (!sa) {
        try {
          sa = sockaddrIn(addr, this.#port);
        } catch {
          this.sendErrors++;
          continue;
        }
        this.#dest.set(addr, sa);
      }
      if (Number(c.sendto(this.#fd, buf, BigInt(buf.length), 0, sa, SOCKADDR_IN_SIZE)) < 0) {
        this.sendErrors++;
      }
    }
  }

  onPacket(receive: (bytes: Uint8Array, from: string) => void): void {
    clearInterval(this.#timer);
    const c = libc(), buf = new Uint8Array(MAX_DATAGRAM);
    const from = new Uint8Array(SOCKADDR_IN_SIZE), fromLen = new Uint32Array(1);
    this.#timer = setInterval(() => {
      for (let i = 0; i < MAX_PER_DRAIN; i++) {
        fromLen[0] = SOCKADDR_IN_SIZE;
        const n = Number(
          c.recvfrom(this.#fd, buf, BigInt(buf.length), MSG_DONTWAIT, from, fromLen),
        );
        if (n < 0) {
          if (errno() !== EAGAIN) this.receiveErrors++;
          return;
        }
        receive(buf.slice(0, n), `${from[4]}.${from[5]}.${from[6]}.${from[7]}`);
      }
    }, this.#drainMs);
  }

  close(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
    return Promise.resolve();
  }
}
