// The management API's request body limit (RabbitMQ's management.http.max_body_size, 20,000,000
// bytes by default): a body over it is refused with 400 "Exceeded HTTP request body size limit",
// on every route, before the body is read. A declared Content-Length over the limit is refused
// without reading a byte; a body of unknown length (chunked) is read up to the limit and no further.
import type { MiddlewareHandler } from "hono";
import type { HttpEnv } from "./auth.ts";
import { badRequest, errorBody } from "./errors.ts";

/** RabbitMQ's ?MANAGEMENT_DEFAULT_HTTP_MAX_BODY_SIZE. */
export const DEFAULT_HTTP_MAX_BODY_SIZE = 20_000_000;

export const BODY_LIMIT_REASON = "Exceeded HTTP request body size limit";

export function bodyLimit(limit: number): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    const request = c.req.raw;
    const declared = request.headers.get("content-length");
    if (declared !== null) {
      // The HTTP parser reads no more than Content-Length bytes, so the header bounds the body
      // (of a GET too, whose body a handler never sees).
      if (!/^\d+$/.test(declared.trim()) || Number(declared) > limit) return refuse(c);
      return next();
    }
    if (request.body === null) return next();
    const body = await readLimited(request.body, limit);
    if (body === undefined) return refuse(c);
    c.req.raw = new Request(request.url, { method: request.method, headers: request.headers, body });
    return next();
  };
}

function refuse(c: Parameters<MiddlewareHandler<HttpEnv>>[0]): Response {
  // Connection: close, as cowboy answers: the rest of the body is never read.
  return c.json(errorBody(badRequest(BODY_LIMIT_REASON)), 400, { connection: "close" });
}

/** The whole stream, or undefined (and the stream cancelled) once it passes `limit` bytes. */
async function readLimited(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
