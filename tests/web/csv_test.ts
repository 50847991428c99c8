import assert from "node:assert/strict";
import { csvField, eventsCsv } from "../../web/csv.ts";

Deno.test("csvField() quotes commas, quotes and line breaks", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("two\nlines"), '"two\nlines"');
});

Deno.test("csvField() defuses spreadsheet formulas", () => {
  assert.equal(csvField("=1+1"), "'=1+1");
  assert.equal(csvField("@SUM(A1)"), "'@SUM(A1)");
  assert.equal(csvField("-5"), "'-5");
});

Deno.test("eventsCsv() writes a header and one CRLF row per event", () => {
  const csv = eventsCsv([
    { id: 1, ts: 0, host: "h", level: "info", kind: "k", message: "m", details: {} },
  ]);
  assert.equal(
    csv,
    "id,time,host,level,kind,message,details\r\n1,1970-01-01T00:00:00.000Z,h,info,k,m,\r\n",
  );
});
