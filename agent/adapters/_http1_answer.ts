/**
 * Reading an HTTP/1.1 answer from raw bytes, for _tls_stream.ts: the head (status line and
 * headers), then the body as the head frames it.
 *
 *   bytes ─▶ parseHead ─▶ { status, headers }, head length
 *   rest  ─▶ BodyReader.push ─▶ the body's own bytes, as subarrays of the input (no copy)
 *             transfer-encoding: chunked   "<hex>[;ext]\r\n" data "\r\n" … "0\r\n" trailers "\r\n"
 *             content-length: N            N bytes
 *             neither                      up to the end of the connection (end())
 *
 * Pure: bytes in, slices out. Malformed input throws an Error naming what is wrong; after
 * that the reader is unusable and the connection must be dropped.
 */

export interface AnswerHead {
  status: number;
  /** Header names in lower case; a header sent twice keeps its values joined by ", ". */
  headers: Map<string, string>;
}

/** A head larger than this is refused (the peer API's heads are a few hundred bytes). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** A chunk-size line (hex digits and extensions) longer than this is refused. */
const MAX_SIZE_LINE = 256;

const CR = 13, LF = 10;
const LATIN1 = new TextDecoder("latin1");

/**
 * The head and its length in bytes once its blank line is in `bytes`; undefined while it
 * is incomplete. Throws on a malformed head, or one past MAX_HEAD_BYTES.
 */
export function parseHead(bytes: Uint8Array): { head: AnswerHead; length: number } | undefined {
  const end = headEnd(bytes);
  if (end < 0) {
    if (bytes.length > MAX_HEAD_BYTES) {
      throw new Error(`malformed HTTP answer: no end of head within ${MAX_HEAD_BYTES} bytes`);
    }
    return undefined;
  }
  const lines = LATIN1.decode(bytes.subarray(0, end)).split(/\r?\n/);
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]);
  if (!m) throw new Error(`malformed HTTP answer: status line ${JSON.stringify(lines[0])}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`malformed HTTP answer: header line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase(), value = line.slice(colon + 1).trim();
    const had = headers.get(name);
    headers.set(name, had === undefined ? value : `${had}, ${value}`);
  }
  return { head: { status: Number(m[1]), headers }, length: end };
}

/** Offset just past the head's blank line (CRLF CRLF, or bare LF LF), or -1. */
function headEnd(b: Uint8Array): number {
  for (let i = 0; i < b.length; i++) {
    if (b[i] !== LF) continue;
    if (b[i + 1] === LF) return i + 2;
    if (b[i + 1] === CR && b[i + 2] === LF) return i + 3;
  }
  return -1;
}

type ChunkState = "size" | "data" | "data-end" | "trailers";

/** The body of one answer, framed as its head says. */
export class BodyReader {
  readonly #chunked: boolean;
  /** Bytes of body (or of the current chunk) still to come; -1: up to the connection's end. */
  #left: number;
  #state: ChunkState = "size";
  #line = "";
  /** Bytes of the current trailer line (0 at the start of a line). */
  #lineBytes = 0;
  #done = false;
  #overrun = false;

  constructor(head: AnswerHead) {
    const te = head.headers.get("transfer-encoding")?.toLowerCase();
    this.#chunked = te !== undefined && te.split(",").map((s) => s.trim()).includes("chunked");
    const cl = head.headers.get("content-length");
    if (
      this.#chunked || (head.status >= 100 && head.status < 200) || head.status === 204 ||
      head.status === 304
    ) {
      this.#left = 0;
      this.#done = !this.#chunked;
    } else if (cl !== undefined) {
      if (!/^\d+$/.test(cl)) {
        throw new Error(`malformed HTTP answer: content-length ${JSON.stringify(cl)}`);
      }
      this.#left = Number(cl);
      this.#done = this.#left === 0;
    } else this.#left = -1;
  }

  /** The whole body has been read (never for a body that runs to the connection's end). */
  get done(): boolean {
    return this.#done;
  }

  /** Bytes came after the body's end (the connection cannot carry another answer). */
  get overrun(): boolean {
    return this.#overrun;
  }

  /** The body's bytes in `bytes`, in order; bytes past the body's end are ignored. */
  push(bytes: Uint8Array): Uint8Array[] {
    if (this.#done) {
      if (bytes.length > 0) this.#overrun = true;
      return [];
    }
    if (!this.#chunked) {
      if (this.#left < 0) return bytes.length > 0 ? [bytes] : [];
      const take = Math.min(this.#left, bytes.length);
      this.#left -= take;
      if (this.#left === 0) this.#done = true;
      if (take < bytes.length) this.#overrun = true;
      return take > 0 ? [bytes.subarray(0, take)] : [];
    }
    const out: Uint8Array[] = [];
    let i = 0;
    while (i < bytes.length && !this.#done) {
      if (this.#state === "data") {
        const take = Math.min(this.#left, bytes.length - i);
        out.push(bytes.subarray(i, i + take));
        i += take;
        this.#left -= take;
        if (this.#left === 0) this.#state = "data-end";
        continue;
      }
      const b = bytes[i++];
      if (this.#state === "size") this.#sizeByte(b);
      else if (this.#state === "data-end") this.#dataEndByte(b);
      else this.#trailerByte(b);
    }
    if (i < bytes.length) this.#overrun = true;
    return out;
  }

  /** The connection ended: throws unless the body was complete (or runs to the end). */
  end(): void {
    if (this.#done) return;
    if (!this.#chunked && this.#left < 0) {
      this.#done = true;
      return;
    }
    throw new Error("the connection closed before the answer ended");
  }

  #sizeByte(b: number): void {
    if (b !== LF) {
      if (b !== CR) this.#line += String.fromCharCode(b);
      if (this.#line.length > MAX_SIZE_LINE) {
        throw new Error(`malformed chunked body: a size line past ${MAX_SIZE_LINE} bytes`);
      }
      return;
    }
    const hex = this.#line.split(";")[0].trim();
    this.#line = "";
    if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) {
      throw new Error(`malformed chunked body: chunk size ${JSON.stringify(hex)}`);
    }
    this.#left = parseInt(hex, 16);
    this.#state = this.#left === 0 ? "trailers" : "data";
    this.#lineBytes = 0;
  }

  /** After a chunk's data: CRLF (or a bare LF). */
  #dataEndByte(b: number): void {
    if (b === CR) return;
    if (b !== LF) throw new Error("malformed chunked body: no line end after a chunk");
    this.#state = "size";
  }

  /** Trailer lines after the last chunk, up to an empty line. */
  #trailerByte(b: number): void {
    if (b === CR) return;
    if (b !== LF) {
      this.#lineBytes++;
      return;
    }
    if (this.#lineBytes === 0) this.#done = true;
    this.#lineBytes = 0;
  }
}
