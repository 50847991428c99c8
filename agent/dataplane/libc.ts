/**
 * The one file that opens libc through Deno FFI (needs --allow-ffi). Each symbol is
 * declared beside its C prototype; structs are laid out by the callers in plain bytes.
 *
 * libc is opened on first use, so importing this file costs nothing and needs no
 * permission. Calls are synchronous on the JS thread except `poll`, which runs on a
 * separate thread and returns a Promise: while such a call is pending the process cannot
 * exit, so callers poll with a short timeout in a loop and stop the loop to close.
 *
 * errno is per thread: read it with `errno()` straight after a failing synchronous call
 * (the same thread); it cannot be read for `poll`, which ran elsewhere.
 */

const SYMBOLS = {
  /** int socket(int domain, int type, int protocol); */
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen); */
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen); */
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  /**
   * ssize_t sendto(int sockfd, const void *buf, size_t len, int flags,
   *                const struct sockaddr *dest_addr, socklen_t addrlen);
   */
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  /** ssize_t recv(int sockfd, void *buf, size_t len, int flags); */
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  /**
   * ssize_t recvfrom(int sockfd, void *buf, size_t len, int flags,
   *                  struct sockaddr *src_addr, socklen_t *addrlen);
   */
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "isize",
  },
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout); — on a separate thread. */
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  /** int close(int fd); */
  close: { parameters: ["i32"], result: "i32" },
  /** unsigned int if_nametoindex(const char *ifname); — 0 if there is no such interface. */
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  /**
   * int ioctl(int fd, unsigned long request, ...); — declared with one pointer argument,
   * as SIOCGIFHWADDR takes a struct ifreq *.
   */
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  /** int *__errno_location(void); — the calling thread's errno. */
  __errno_location: { parameters: [], result: "pointer" },
  /** char *strerror(int errnum); */
  strerror: { parameters: ["i32"], result: "pointer" },
  /** int malloc_trim(size_t pad); — glibc: hands free heap memory back to the system. */
  malloc_trim: { parameters: ["usize"], result: "i32" },
} as const;

export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** Whether this process may use FFI (asked without a permission prompt). */
export function ffiAllowed(): boolean {
  return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
}

/** The libc symbols above; opens libc.so.6 on the first call. */
export function libc(): Libc {
  if (lib === undefined) {
    try {
      lib = Deno.dlopen("libc.so.6", SYMBOLS);
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
        throw new Error(`cannot open libc: FFI is not allowed (run deno with --allow-ffi)`);
      }
      throw new Error(`cannot open libc.so.6: ${(e as Error).message} (a glibc system is needed)`);
    }
  }
  return lib.symbols;
}

/** errno of the last failed synchronous call on this thread. */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** The C library's text for an errno, e.g. "Operation not permitted". */
export function strerror(code: number): string {
  const p = libc().strerror(code);
  return p === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(p);
}

/** A NUL-terminated copy of `s` for a `const char *` argument. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

// <sys/socket.h>, <linux/if_packet.h>, <poll.h>, <errno.h>, <linux/sockios.h> (x86-64 / generic).
export const AF_INET = 2;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
/** struct sockaddr_in is 16 bytes: family (u16), port (u16 BE), address (4 bytes), padding. */
export const SOCKADDR_IN_SIZE = 16;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const AF_PACKET = 17;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_PACKET = 263;
/** int: 1 = do not receive the frames this host sends (Linux 4.20+). */
export const PACKET_IGNORE_OUTGOING = 23;
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 0x001;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
export const SIOCGIFHWADDR = 0x8927;
/** struct ifreq is 40 bytes on 64-bit Linux: char ifr_name[16] then a 24-byte union. */
export const IFREQ_SIZE = 40;
/** struct sockaddr_ll is 20 bytes. */
export const SOCKADDR_LL_SIZE = 20;
export const EPERM = 1;
export const EINTR = 4;
export const ENXIO = 6;
export const EAGAIN = 11;
export const EACCES = 13;
export const ENODEV = 19;
export const ENOBUFS = 105;
export const ENETDOWN = 100;
