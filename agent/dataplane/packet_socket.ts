/**
 * A Linux AF_PACKET socket on one interface: whole Ethernet frames out and in, for one
 * EtherType (ARP by default). Needs CAP_NET_RAW; FFI sockets belong to the network
 * namespace of the process that opens them.
 *
 * Receiving is a loop: `poll` (100 ms timeout, on a separate thread) then `recv` with
 * MSG_DONTWAIT until the queue is empty. The short timeout matters: a pending FFI call
 * keeps the process alive, so `close()` sets a flag, waits for the loop to notice it
 * (at most one timeout), and only then closes the descriptor.
 *
 * The socket is created with protocol 0 (it receives nothing) and bound to the interface
 * and EtherType afterwards, so no frame of another interface slips in between; with
 * PACKET_IGNORE_OUTGOING it does not see the frames this host sends.
 */
import {
  AF_PACKET,
  cString,
  EACCES,
  EAGAIN,
  EINTR,
  ENETDOWN,
  ENODEV,
  ENXIO,
  EPERM,
  errno,
  IFREQ_SIZE,
  libc,
  MSG_DONTWAIT,
  PACKET_IGNORE_OUTGOING,
  POLLIN,
  POLLNVAL,
  SIOCGIFHWADDR,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOCKADDR_LL_SIZE,
  SOL_PACKET,
  strerror,
} from "./libc.ts";
import { formatMac } from "./cluster_mac.ts";
import { ETH_P_ARP } from "./arp_frame.ts";

/** How long one `poll` waits; also the longest `close()` waits for the loop. */
export const POLL_TIMEOUT_MS = 100;
/** Frames read per wake-up before polling again. */
const MAX_BATCH = 64;
/** Larger than any frame of a 9000-byte MTU. */
const RECV_BUFFER = 9216;
const RECV_LEN = BigInt(RECV_BUFFER);
/** ARPHRD_ETHER from <net/if_arp.h>. */
export const ARPHRD_ETHER = 1;

export interface PacketSocketCounters {
  received: number;
  sent: number;
  /** recv() said ENETDOWN: the link went down (frames resume when it is up again). */
  netDown: number;
  /** poll() failed (EINTR and the like); the loop polls again. */
  pollFailures: number;
}

export class PacketSocket {
  readonly counters: PacketSocketCounters = { received: 0, sent: 0, netDown: 0, pollFailures: 0 };
  #fd: number;
  #loop: Promise<void> | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;

  private constructor(
    readonly iface: string,
    readonly ifindex: number,
    fd: number,
    /** The interface's own MAC, "aa:bb:cc:dd:ee:ff". */
    readonly mac: string,
    /** ARPHRD_* link type; ARPHRD_ETHER (1) for Ethernet and veth. */
    readonly linkType: number,
    /** False on kernels before 4.20: the socket then also sees the frames it sends. */
    readonly ignoresOutgoing: boolean,
  ) {
    this.#fd = fd;
  }

  /** Opens a packet socket bound to `iface` for one EtherType (default ARP). */
  static open(iface: string, opts: { protocol?: number } = {}): PacketSocket {
    const protocol = opts.protocol ?? ETH_P_ARP;
    const c = libc();
    const ifindex = iface.length > 0 && iface.length < 16 ? c.if_nametoindex(cString(iface)) : 0;
    if (ifindex === 0) throw new Error(`interface "${iface}" not found (see: ip link)`);
    const fd = c.socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      // errno can be overwritten by the runtime between two FFI calls; a missing
      // CAP_NET_RAW is read from /proc instead, so that error always names it.
      throw hasCapNetRaw() === false
        ? socketError("open a packet socket", iface, EPERM, "Operation not permitted")
        : lastError("open a packet socket", iface);
    }
    try {
      const ignore = new Uint8Array(4);
      new DataView(ignore.buffer).setInt32(0, 1, true);
      const ignoresOutgoing =
        c.setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, ignore, ignore.length) === 0;
      const ifr = new Uint8Array(IFREQ_SIZE);
      ifr.set(cString(iface));
      if (c.ioctl(fd, BigInt(SIOCGIFHWADDR), ifr) !== 0) {
        throw lastError("read the MAC address", iface);
      }
      const linkType = new DataView(ifr.buffer).getUint16(16, true);
      const mac = formatMac(ifr, 18);
      const addr = sockaddrLl(ifindex, protocol);
      if (c.bind(fd, addr, addr.length) !== 0) throw lastError("bind a packet socket", iface);
      return new PacketSocket(iface, ifindex, fd, mac, linkType, ignoresOutgoing);
    } catch (e) {
      c.close(fd);
      throw e;
    }
  }

  /** Sends one whole frame (Ethernet header included) out of the interface. */
  send(frame: Uint8Array): void {
    if (this.#closing) throw new Error(`packet socket on "${this.iface}" is closed`);
    if (frame.length < 14) throw new Error(`a frame needs at least 14 bytes, got ${frame.length}`);
    const addr = sockaddrLl(this.ifindex, (frame[12] << 8) | frame[13], frame.subarray(0, 6));
    const n = libc().sendto(this.#fd, copy(frame), BigInt(frame.length), 0, addr, addr.length);
    if (Number(n) < 0) throw lastError("send", this.iface);
    this.counters.sent++;
  }

  /**
   * Starts the receive loop: `handler` gets each frame (a copy it may keep). Errors from
   * the handler go to `onError` and the loop goes on; a receive error that is not
   * transient goes to `onError` and ends the loop. One receiver per socket.
   */
  onFrame(handler: (frame: Uint8Array) => void, onError: (e: Error) => void = () => {}): void {
    if (this.#closing) throw new Error(`packet socket on "${this.iface}" is closed`);
    if (this.#loop !== undefined) throw new Error(`onFrame() was already called on this socket`);
    this.#loop = this.#receive(handler, onError);
  }

  get closed(): boolean {
    return this.#closing;
  }

  /** Stops the receive loop (within POLL_TIMEOUT_MS), then closes the descriptor. */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closing = true;
    this.#closed = (async () => {
      await this.#loop;
      libc().close(this.#fd);
      this.#fd = -1;
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #receive(handler: (frame: Uint8Array) => void, onError: (e: Error) => void) {
    const c = libc();
    const pollfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
    const pv = new DataView(pollfd.buffer);
    pv.setInt32(0, this.#fd, true);
    pv.setInt16(4, POLLIN, true);
    const buf = new Uint8Array(RECV_BUFFER);
    while (!this.#closing) {
      pv.setInt16(6, 0, true);
      const ready = await c.poll(pollfd, 1n, POLL_TIMEOUT_MS);
      if (this.#closing) return;
      if (ready < 0) {
        this.counters.pollFailures++;
        continue;
      }
      if (ready === 0) continue;
      if (pv.getInt16(6, true) & POLLNVAL) {
        return onError(new Error(`packet socket on "${this.iface}": descriptor is not open`));
      }
      for (let i = 0; i < MAX_BATCH && !this.#closing; i++) {
        const n = Number(c.recv(this.#fd, buf, RECV_LEN, MSG_DONTWAIT));
        if (n < 0) {
          const code = errno();
          if (code === EAGAIN) break;
          if (code === EINTR) continue;
          if (code === ENETDOWN) {
            this.counters.netDown++;
            continue;
          }
          return onError(socketError("receive", this.iface, code, strerror(code)));
        }
        this.counters.received++;
        try {
          handler(buf.slice(0, n));
        } catch (e) {
          onError(e instanceof Error ? e : new Error(String(e)));
        }
      }
    }
  }
}

/**
 * The error for a failed socket call, saying what failed and how to fix it. Pure, so the
 * wording is tested without a kernel.
 */
export function socketError(action: string, iface: string, code: number, text: string): Error {
  const what = `cannot ${action} on "${iface}"`;
  if (code === EPERM || code === EACCES) {
    return new Error(
      `${what}: ${text} (CAP_NET_RAW is needed: run as root or grant CAP_NET_RAW, ` +
        `e.g. setcap cap_net_raw+ep on the deno binary)`,
    );
  }
  if (code === ENODEV || code === ENXIO) {
    return new Error(`${what}: interface "${iface}" not found (see: ip link)`);
  }
  if (code === ENETDOWN) {
    return new Error(`${what}: interface "${iface}" is down (see: ip link set ${iface} up)`);
  }
  return new Error(`${what}: ${text} (errno ${code})`);
}

/** Whether this process holds CAP_NET_RAW (bit 13 of CapEff); undefined if unreadable. */
function hasCapNetRaw(): boolean | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? (BigInt(`0x${m[1]}`) & (1n << 13n)) !== 0n : undefined;
  } catch {
    return undefined;
  }
}

function lastError(action: string, iface: string): Error {
  const code = errno();
  return socketError(action, iface, code, strerror(code));
}

/**
 * struct sockaddr_ll { unsigned short sll_family; __be16 sll_protocol; int sll_ifindex;
 *   unsigned short sll_hatype; unsigned char sll_pkttype; unsigned char sll_halen;
 *   unsigned char sll_addr[8]; };
 */
function sockaddrLl(ifindex: number, protocol: number, dst?: Uint8Array): Uint8Array {
  const out = new Uint8Array(SOCKADDR_LL_SIZE);
  const v = new DataView(out.buffer);
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, protocol, false); // network byte order
  v.setInt32(4, ifindex, true);
  if (dst !== undefined) {
    out[11] = dst.length;
    out.set(dst, 12);
  }
  return out;
}

/** A copy on its own ArrayBuffer (FFI wants a plain, unshared buffer). */
function copy(frame: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(frame);
}
