/**
 * The SPA's files: `/assets/app.js` and `/assets/app.css` from memory (gzip when the
 * client takes it, cached for a year under their content hash), and index.html for `/`
 * and every other path outside /api and /assets, so the SPA can route by itself.
 */
import { Hono } from "hono";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { Assets } from "./deps.ts";

interface Served {
  body: Uint8Array<ArrayBuffer>;
  gz: Uint8Array<ArrayBuffer>;
  hash: string;
  type: string;
}

export function contentHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function served(text: string, type: string, gz?: Uint8Array<ArrayBuffer>, hash?: string): Served {
  const body = new TextEncoder().encode(text);
  return {
    body,
    gz: gz ?? new Uint8Array(gzipSync(body, { level: 9 })),
    hash: hash ?? contentHash(text),
    type,
  };
}

export function indexHtml(jsHash: string, cssHash: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>appliance admin</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css?v=${cssHash}">
</head>
<body>
<div id="app"><p class="boot">Loading the admin panel…</p>
<noscript><p>The admin panel needs JavaScript; the CLI (appliance --help) does not.</p></noscript></div>
<script type="module" src="/assets/app.js?v=${jsHash}"></script>
</body>
</html>
`;
}

export function staticApp(assets: Assets): Hono {
  const files: Record<string, Served> = {
    "/assets/app.js": served(
      assets.js,
      "text/javascript; charset=utf-8",
      assets.jsGz,
      assets.jsHash,
    ),
    "/assets/app.css": served(assets.css, "text/css; charset=utf-8", assets.cssGz, assets.cssHash),
  };
  const html = indexHtml(files["/assets/app.js"].hash, files["/assets/app.css"].hash);
  const app = new Hono();

  app.get("/assets/:file", (c) => {
    const f = files[c.req.path];
    if (!f) return c.text(`no such asset: ${c.req.path}`, 404);
    const etag = `"${f.hash}"`;
    c.header("ETag", etag);
    c.header("Vary", "Accept-Encoding");
    c.header(
      "Cache-Control",
      c.req.query("v") === f.hash ? "public, max-age=31536000, immutable" : "no-cache",
    );
    if (c.req.header("if-none-match") === etag) return c.body(null, 304);
    c.header("Content-Type", f.type);
    if (/\bgzip\b/.test(c.req.header("accept-encoding") ?? "")) {
      c.header("Content-Encoding", "gzip");
      return c.body(f.gz);
    }
    return c.body(f.body);
  });

  app.get("*", (c) => {
    c.header("Cache-Control", "no-cache");
    return c.html(html);
  });
  return app;
}
