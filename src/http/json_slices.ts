// A long list answered as JSON a slice per turn of the event loop: with 20,000 queues, formatting
// and serialising GET /api/queues took 311 ms in one turn, and every connection waited that long.
// The same text as JSON.stringify of the whole list; objects may change between slices, as they may
// while RabbitMQ's management gathers a list.
import type { Context } from "hono";
import { turnEnds } from "../runtime/timers.ts";
import type { HttpEnv } from "./auth.ts";
import type { Json } from "./json.ts";
import { columnPaths, pageRequest, paginate, pick, sortBy } from "./list_params.ts";

/** Items formatted and serialised per turn. */
const SLICE = 500;

export async function jsonInSlices<T>(items: readonly T[], format: (item: T) => unknown): Promise<string> {
  const parts = await mapInSlices(items, (item) => JSON.stringify(format(item)) ?? "null");
  return `[${parts.join(",")}]`;
}

async function mapInSlices<T, U>(items: readonly T[], map: (item: T) => U): Promise<U[]> {
  const out: U[] = [];
  for (let start = 0; start < items.length; start += SLICE) {
    if (start > 0) await turnEnds();
    const end = Math.min(items.length, start + SLICE);
    for (let i = start; i < end; i++) out.push(map(items[i]!));
  }
  return out;
}

/**
 * A list answered a slice per turn, with `sort`, `sort_reverse`, `columns` and `page` applied here
 * rather than by the list_params middleware, which parses and serialises the whole answer again in
 * one turn (GET /api/queues?columns=name with 20,000 queues; the console's page of queues sorted
 * by messages: 75 ms). A page is cut before `columns` apply, as rabbit_mgmt_util does: the name
 * filter sees every queue's name.
 */
export async function listInSlices<T>(c: Context<HttpEnv>, items: readonly T[], format: (item: T) => Json): Promise<Response> {
  const q = c.req.query();
  const columns = columnPaths(q.columns);
  const shape = (json: Json) => (columns ? pick(json, columns) : json);
  const reverse = q.sort_reverse === "true";
  const page = pageRequest(q); // before the work: a bad parameter is a 400 at once
  let text: string;
  if (page === undefined && q.sort === undefined && !reverse) text = await jsonInSlices(items, (item) => shape(format(item)));
  else {
    const formatted = await mapInSlices(items, format);
    const ordered = q.sort !== undefined ? sortBy(formatted, q.sort, reverse) : reverse ? formatted.reverse() : formatted;
    if (page === undefined) text = await jsonInSlices(ordered, shape);
    else {
      const answer = paginate(ordered, page);
      answer.items = (answer.items as Json[]).map(shape);
      text = JSON.stringify(answer);
    }
  }
  c.set("listParamsApplied", true);
  return jsonResponse(c, text);
}

/** An object whose arrays are serialised a slice per turn (a definitions export); JSON.stringify's text. */
export async function jsonObjectInSlices(object: Record<string, unknown>): Promise<string> {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    const text = Array.isArray(value) ? await jsonInSlices(value, (item) => item) : JSON.stringify(value);
    if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(",")}}`;
}

/** A 200 answer with JSON text built by the functions above. */
export function jsonResponse(c: Context, text: string, headers: Record<string, string> = {}): Response {
  return c.body(text, 200, { ...headers, "content-type": "application/json" });
}
