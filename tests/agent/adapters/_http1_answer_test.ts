import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { BodyReader, MAX_HEAD_BYTES, parseHead } from "../../../agent/adapters/_http1_answer.ts";
import { concatBytes } from "../../../agent/concat_bytes.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const text = (parts: Uint8Array[]) => new TextDecoder().decode(concatBytes(parts));

/** The body read from `wire` (head and body), pushed in pieces of `step` bytes. */
function readBody(wire: string, step: number): { status: number; body: string; done: boolean } {
  const bytes = enc(wire);
  const h = parseHead(bytes)!;
  const reader = new BodyReader(h.head);
  const parts: Uint8Array[] = [];
  for (let i = h.length; i < bytes.length; i += step) {
    parts.push(...reader.push(bytes.subarray(i, i + step)).map((p) => p.slice()));
  }
  return { status: h.head.status, body: text(parts), done: reader.done };
}

Deno.test("parseHead() waits for the blank line, then gives status, headers and head length", () => {
  const wire = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\nx-a: 2\r\n\r\nbody";
  assertEquals(parseHead(enc(wire.slice(0, 30))), undefined);
  const h = parseHead(enc(wire))!;
  assertEquals(h.head.status, 200);
  assertEquals(h.head.headers.get("content-type"), "text/plain");
  assertEquals(h.head.headers.get("x-a"), "1, 2");
  assertEquals(h.length, wire.length - 4);
});

Deno.test("parseHead() refuses a bad status line, a bad header and an endless head", () => {
  throws(() => parseHead(enc("HTTP/2 200\r\n\r\n")), /status line/);
  throws(() => parseHead(enc("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")), /header line/);
  throws(() => parseHead(enc("HTTP/1.1 200 OK\r\n" + "x: y\r\n".repeat(MAX_HEAD_BYTES / 4))), {
    message: `malformed HTTP answer: no end of head within ${MAX_HEAD_BYTES} bytes`,
  });
});

const CHUNKED = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" +
  "5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\nNEXT ANSWER";

Deno.test("BodyReader decodes a chunked body however it is sliced, and stops at its end", () => {
  for (const step of [1, 2, 3, 7, 1000]) {
    assertEquals(readBody(CHUNKED, step), { status: 200, body: "hello, world", done: true });
  }
});

Deno.test("BodyReader gives slices of its input, not copies", () => {
  const bytes = enc("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello");
  const h = parseHead(bytes)!;
  const [slice] = new BodyReader(h.head).push(bytes.subarray(h.length));
  assert(slice.buffer === bytes.buffer);
});

Deno.test("BodyReader reads content-length bytes and ignores what follows", () => {
  const wire = 'HTTP/1.1 404 Not Found\r\nContent-Length: 11\r\n\r\n{"error":1}trailing';
  assertEquals(readBody(wire, 4), { status: 404, body: '{"error":1}', done: true });
});

Deno.test("BodyReader without framing reads to the connection's end", () => {
  const r = new BodyReader(parseHead(enc("HTTP/1.1 200 OK\r\n\r\n"))!.head);
  assertEquals(text(r.push(enc("abc"))), "abc");
  assertEquals(r.done, false);
  r.end();
  assertEquals(r.done, true);
});

Deno.test("BodyReader.end() throws when a framed body is cut short", () => {
  const cut = new BodyReader(parseHead(enc("HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n"))!.head);
  cut.push(enc("abc"));
  throws(() => cut.end(), { message: "the connection closed before the answer ended" });
  const chunked = new BodyReader(parseHead(enc(CHUNKED))!.head);
  chunked.push(enc("5\r\nhel"));
  throws(() => chunked.end(), { message: "the connection closed before the answer ended" });
});

Deno.test("BodyReader refuses a malformed chunk size or chunk end", () => {
  const head = parseHead(enc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))!.head;
  throws(() => new BodyReader(head).push(enc("zz\r\n")), /chunk size "zz"/);
  throws(() => new BodyReader(head).push(enc("2\r\nabX")), /no line end after a chunk/);
  throws(() => new BodyReader(head).push(enc("1".repeat(300))), /size line past/);
});

Deno.test("BodyReader: a 204 answer has no body", () => {
  const r = new BodyReader(parseHead(enc("HTTP/1.1 204 No Content\r\n\r\n"))!.head);
  assertEquals(r.done, true);
  assertEquals(r.push(enc("ignored")), []);
});

Deno.test("BodyReader.overrun tells whether bytes came after the body's end", () => {
  const exact = new BodyReader(parseHead(enc(CHUNKED))!.head);
  exact.push(enc("1\r\na\r\n0\r\n\r\n"));
  assertEquals([exact.done, exact.overrun], [true, false]);
  const extra = new BodyReader(parseHead(enc(CHUNKED))!.head);
  extra.push(enc("1\r\na\r\n0\r\n\r\nHTTP/1.1"));
  assertEquals([extra.done, extra.overrun], [true, true]);
  const sized = new BodyReader(
    parseHead(enc("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"))!.head,
  );
  sized.push(enc("ab"));
  assertEquals(sized.overrun, false);
  sized.push(enc("c"));
  assertEquals(sized.overrun, true);
});
