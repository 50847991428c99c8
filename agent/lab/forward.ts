/**
 * A TCP listener that forwards every connection to a unix socket: how the demo shows a
 * host's admin panel, which lives in a network namespace, on 127.0.0.1 of this machine.
 */
export async function forwardTcpToUnix(
  listen: { hostname: string; port: number },
  path: string,
): Promise<{ close(): void }> {
  const listener = Deno.listen(listen);
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const client of listener) {
      conns.add(client);
      Deno.connect({ transport: "unix", path }).then((upstream) => {
        conns.add(upstream);
        const done = () => {
          for (const c of [client, upstream]) {
            conns.delete(c);
            try {
              c.close();
            } catch { /* closed */ }
          }
        };
        Promise.allSettled([
          client.readable.pipeTo(upstream.writable),
          upstream.readable.pipeTo(client.writable),
        ]).finally(done);
      }, () => {
        conns.delete(client);
        client.close();
      });
    }
  })().catch(() => {});
  await Promise.resolve();
  return {
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}
