/**
 * The Transport port on node:dgram (needs only --allow-net). Unicast to every member on
 * the heartbeat port: it works on loopback, in namespaces and on real LANs alike.
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import type { Transport } from "../ports.ts";
import { heartbeatBindError } from "./_heartbeat_bind_error.ts";

export class UdpTransport implements Transport {
  #socket: dgram.Socket;
  #port: number;
  sendErrors = 0;

  private constructor(socket: dgram.Socket, port: number) {
    this.#socket = socket;
    this.#port = port;
  }

  /** Binds address:port; rejects with a message that says what to check. */
  static bind(address: string, port: number): Promise<UdpTransport> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: "udp4", reuseAddr: false });
      socket.once("error", (e: Error & { code?: string }) => {
        reject(heartbeatBindError(address, port, e.message, e.code));
      });
      socket.bind(port, address, () => resolve(new UdpTransport(socket, port)));
    });
  }

  send(to: string[], bytes: Uint8Array): void {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const addr of to) {
      this.#socket.send(buf, this.#port, addr, (err) => {
        if (err) this.sendErrors++;
      });
    }
  }

  onPacket(receive: (bytes: Uint8Array, from: string) => void): void {
    this.#socket.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      receive(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), rinfo.address);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}
