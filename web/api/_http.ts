/** What the panel's sub-apps share: the Hono env, client address, errors, JSON bodies. */
import type { Context } from "hono";
import type { Session } from "../sessions.ts";

export type PanelEnv = {
  /** Deno.serve passes its ServeHandlerInfo as the env: the client's address. */
  Bindings: { remoteAddr?: { hostname?: string } } | undefined;
  Variables: { session: Session };
};

/** A refusal the client can act on: its status and a message; `problems` lists each. */
export class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 502 | 503,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The client's IP address, from the connection (never from a header a client can set). */
export function clientIp(c: Context<PanelEnv>): string {
  return c.env?.remoteAddr?.hostname ?? "unknown";
}

/**
 * The request body as a JSON object, or a 400 saying what was expected. With `emptyOk`
 * (every field optional) no body at all reads as `{}`.
 */
export async function readJsonObject(
  c: Context<PanelEnv>,
  emptyOk = false,
): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    const text = await c.req.text();
    body = emptyOk && text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new HttpError(400, "the request body must be a JSON object");
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, "the request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/** "a, b or c" */
export function oneOf(choices: readonly string[]): string {
  return choices.length < 2
    ? choices.join("")
    : `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}`;
}

/** A 400 listing every problem: the first alone, or "N problems: a; b". */
export function refusal(problems: string[]): HttpError {
  const error = problems.length === 1
    ? problems[0]
    : `${problems.length} problems: ${problems.join("; ")}`;
  return new HttpError(400, error, { problems });
}

/** The problems of fields in `body` that are not in `fields`. */
export function unknownFields(body: Record<string, unknown>, fields: readonly string[]): string[] {
  return Object.keys(body).filter((k) => !fields.includes(k)).map((k) =>
    `unknown field "${k}": use ${oneOf(fields)}`
  );
}
