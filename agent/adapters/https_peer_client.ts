/**
 * The PeerClient port over HTTPS: TLS pinned to the cluster CA, every request signed with
 * the cluster key (peer/request_auth.ts). Also used by the control API to reach other hosts.
 * Requests go over node:https with TCP_NODELAY (_nodelay_fetch.ts): Deno's `fetch` stalls
 * 40 ms on every request of more than ~1 KiB (Nagle's algorithm meets delayed ACK). Bulk
 * answers (stream()) go over a TLS connection of their own (_tls_stream.ts): half the CPU.
 */
import type https from "node:https";
import type { PeerClient } from "../ports.ts";
import type { ClusterConfig } from "../cluster/config.ts";
import type { ViewSnapshot } from "../cluster/view.ts";
import { signRequest } from "../peer/request_auth.ts";
import { nodelayAgent, nodelayFetch } from "./_nodelay_fetch.ts";
import { TlsConnPool, tlsStreamRequest } from "./_tls_stream.ts";

export interface HttpsPeerClientOptions {
  caPem: string;
  key: Uint8Array;
  selfId: number;
  port: number;
  timeoutMs?: number;
}

export class HttpsPeerClient implements PeerClient {
  #agent: https.Agent;
  #streams = new TlsConnPool();
  #o: HttpsPeerClientOptions;

  constructor(o: HttpsPeerClientOptions) {
    this.#o = o;
    this.#agent = nodelayAgent(o.caPem);
  }

  fetchView(address: string): Promise<ViewSnapshot> {
    return this.request<ViewSnapshot>(address, "GET", "/peer/v1/view");
  }

  fetchConfig(address: string): Promise<ClusterConfig> {
    return this.request<ClusterConfig>(address, "GET", "/peer/v1/config");
  }

  async pushConfig(address: string, config: ClusterConfig): Promise<void> {
    await this.request(address, "POST", "/peer/v1/config", config);
  }

  /** A signed JSON request to a peer; rejects with the peer's error message on a non-2xx. */
  async request<T>(
    address: string,
    method: string,
    pathAndQuery: string,
    body?: unknown,
  ): Promise<T> {
    const text = body === undefined ? "" : JSON.stringify(body);
    const path = pathAndQuery.split("?")[0];
    const auth = signRequest(this.#o.key, this.#o.selfId, method, path, text, Date.now());
    const res = await nodelayFetch(this.#agent, this.#url(address, pathAndQuery), {
      method,
      headers: { authorization: auth, "content-type": "application/json" },
      body: body === undefined ? undefined : text,
      signal: AbortSignal.timeout(this.#o.timeoutMs ?? 3000),
    });
    const out = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(out?.error ?? `HTTP ${res.status} from ${address}`);
    return out as T;
  }

  /**
   * A signed request whose answer body the caller streams (a stream of chunks); rejects with
   * the peer's error message on a non-2xx. Over a TLS connection of its own, read into one
   * reused buffer (_tls_stream.ts): each slice is valid until the next is asked for.
   * `signal` bounds the whole transfer.
   */
  async stream(
    address: string,
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<AsyncIterable<Uint8Array>> {
    const text = JSON.stringify(body);
    const auth = signRequest(this.#o.key, this.#o.selfId, method, path, text, Date.now());
    const res = await tlsStreamRequest({
      hostname: address.replace(/^\[|\]$/g, ""),
      port: this.#o.port,
      caPem: this.#o.caPem,
      method,
      path,
      headers: { authorization: auth, "content-type": "application/json" },
      body: text,
      signal,
    }, this.#streams);
    if (res.status < 200 || res.status > 299) {
      const out = await res.text().then((t) => JSON.parse(t)).catch(() => ({}));
      throw new Error(out?.error ?? `HTTP ${res.status} from ${address}`);
    }
    return res.body;
  }

  close(): void {
    this.#agent.destroy();
    this.#streams.close();
  }

  #url(address: string, pathAndQuery: string): URL {
    return new URL(`https://${address}:${this.#o.port}${pathAndQuery}`);
  }
}
