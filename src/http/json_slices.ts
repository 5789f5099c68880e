// A long list answered as JSON a slice per turn of the event loop: with 20,000 queues, formatting
// and serialising GET /api/queues took 311 ms in one turn, and every connection waited that long.
// The same text as JSON.stringify of the whole list; objects may change between slices, as they may
// while RabbitMQ's management gathers a list.
import type { Context } from "hono";
import { nextTurn } from "../runtime/timers.ts";

/** Items formatted and serialised per turn. */
const SLICE = 500;

export async function jsonInSlices<T>(items: readonly T[], format: (item: T) => unknown): Promise<string> {
  const parts: string[] = [];
  for (let start = 0; start < items.length; start += SLICE) {
    if (start > 0) await new Promise<void>((resolve) => nextTurn(resolve));
    const end = Math.min(items.length, start + SLICE);
    for (let i = start; i < end; i++) parts.push(JSON.stringify(format(items[i]!)) ?? "null");
  }
  return `[${parts.join(",")}]`;
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
