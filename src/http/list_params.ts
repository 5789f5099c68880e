// Query parameters every GET of the management API takes (rabbit_mgmt_util): `columns` keeps
// only the named fields (dotted for nested ones, as rabbitmqadmin asks), `sort`/`sort_reverse`
// order a list by a field, and `page`/`page_size`/`name`/`use_regex` paginate it.
import type { MiddlewareHandler } from "hono";
import type { HttpEnv } from "./auth.ts";
import { badRequest } from "./errors.ts";
import type { Json, JsonObject } from "./json.ts";

export function listParams(): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    await next();
    const q = c.req.query();
    if (c.req.method !== "GET" || c.res.status !== 200 || c.get("listParamsApplied")) return;
    if (q.columns === undefined && q.sort === undefined && q.page === undefined && q.sort_reverse === undefined) return;
    if (!(c.res.headers.get("content-type") ?? "").includes("application/json")) return;
    let body = (await c.res.json()) as Json;
    if (q.page !== undefined && isPage(body)) {
      // Paged by the route before formatting (pageBeforeFormat): only the columns remain to do.
      if (q.columns !== undefined) {
        const columns = q.columns.split(",").filter((s) => s !== "").map((s) => s.split("."));
        body.items = (body.items as Json[]).map((item) => pick(item, columns));
      }
      c.res = new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
      return;
    }
    if (Array.isArray(body)) {
      if (q.sort !== undefined) body = sortBy(body, q.sort, q.sort_reverse === "true");
      else if (q.sort_reverse === "true") body = [...body].reverse();
    }
    if (q.columns !== undefined) {
      const columns = q.columns.split(",").filter((s) => s !== "").map((s) => s.split("."));
      body = Array.isArray(body) ? body.map((item) => pick(item, columns)) : pick(body, columns);
    }
    if (q.page !== undefined && Array.isArray(body)) body = paginate(body, pageRequest(q)!);
    c.res = new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
  };
}

/** `columns=a,b.c` as paths (undefined when absent). */
export function columnPaths(columns: string | undefined): string[][] | undefined {
  return columns === undefined ? undefined : columns.split(",").filter((s) => s !== "").map((s) => s.split("."));
}

export function pick(item: Json, columns: string[][]): Json {
  if (item === null || typeof item !== "object" || Array.isArray(item)) return item;
  const out: JsonObject = {};
  for (const path of columns) {
    let from: Json | undefined = item;
    let to = out;
    for (let i = 0; i < path.length; i++) {
      if (from === null || typeof from !== "object" || Array.isArray(from) || !(path[i]! in from)) break;
      const key = path[i]!;
      if (i === path.length - 1) to[key] = from[key]!;
      else {
        to = (to[key] ??= {}) as JsonObject;
        from = from[key];
      }
    }
  }
  return out;
}

function field(item: Json, path: string[]): Json | undefined {
  let v: Json | undefined = item;
  for (const key of path) v = v !== null && typeof v === "object" && !Array.isArray(v) ? v[key] : undefined;
  return v;
}

const isPage = (body: Json): body is JsonObject =>
  body !== null && typeof body === "object" && !Array.isArray(body) && Array.isArray(body.items) && typeof body.filtered_count === "number";

export function sortBy(list: Json[], sort: string, reverse: boolean): Json[] {
  const path = sort.split(".");
  return sortedBy(list, (item) => field(item, path), reverse);
}

function sortedBy<T>(list: T[], key: (item: T) => Json | undefined, reverse: boolean): T[] {
  const sorted = [...list].sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === y) return 0;
    if (x === undefined || x === null) return -1;
    if (y === undefined || y === null) return 1;
    return x < y ? -1 : 1;
  });
  return reverse ? sorted.reverse() : sorted;
}

/** A page as rabbit_mgmt_util:paginate answers it. */
export function paginate(list: Json[], request: PageRequest): JsonObject {
  const { items, ...rest } = pageOf(list, request, (item) => String(field(item, ["name"]) ?? ""));
  return { ...rest, items };
}

interface PageOf<T> {
  filtered_count: number;
  item_count: number;
  items: T[];
  page: number;
  page_count: number;
  page_size: number;
  total_count: number;
}

/** What `page`, `page_size`, `name` and `use_regex` ask for. */
export interface PageRequest {
  page: number;
  pageSize: number;
  /** The name filter; undefined keeps every item. */
  matches: ((name: string) => boolean) | undefined;
}

/**
 * The page a query asks for, checked before any list is built (a bad parameter is a 400 at
 * once); undefined without `page`.
 */
export function pageRequest(q: Record<string, string | undefined>): PageRequest | undefined {
  if (q.page === undefined) return undefined;
  const page = Number(q.page);
  const pageSize = q.page_size === undefined ? 100 : Number(q.page_size);
  if (!Number.isInteger(page) || page < 1) throw badRequest("page must be a positive integer");
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 500) throw badRequest("page_size must be an integer from 1 to 500");
  if (q.name === undefined || q.name === "") return { page, pageSize, matches: undefined };
  // Either way ignores case, as rabbit_mgmt_util's match_value does (re's caseless, to_lower).
  if (q.use_regex === "true") {
    let re: RegExp;
    try {
      re = new RegExp(q.name, "i");
    } catch (err) {
      throw badRequest(`name is not a valid regular expression: ${(err as Error).message}`);
    }
    return { page, pageSize, matches: (name) => re.test(name) };
  }
  const part = q.name.toLowerCase();
  return { page, pageSize, matches: (name) => name.toLowerCase().includes(part) };
}

function pageOf<T>(list: T[], { page, pageSize, matches }: PageRequest, name: (item: T) => string): PageOf<T> {
  const filtered = matches ? list.filter((item) => matches(name(item))) : list;
  const pageCount = Math.max(1, Math.ceil(filtered.length / pageSize));
  const items = filtered.slice((page - 1) * pageSize, page * pageSize);
  return {
    filtered_count: filtered.length,
    item_count: items.length,
    items,
    page,
    page_count: pageCount,
    page_size: pageSize,
    total_count: list.length,
  };
}

/**
 * A page of a listing chosen before its objects are formatted, so a page of 10,000 queues formats
 * 100 of them: when `page` is asked and `sort`, if any, is one of `keys` (fields known without
 * formatting). Filters, orders and answers as the middleware would over the formatted list;
 * undefined when it does not apply (the route formats everything and the middleware pages).
 */
export function pageBeforeFormat<T>(
  list: T[],
  q: Record<string, string | undefined>,
  name: (item: T) => string,
  keys: Record<string, (item: T) => string>,
): PageOf<T> | undefined {
  const request = pageRequest(q);
  if (request === undefined) return undefined;
  const key = q.sort === undefined ? undefined : keys[q.sort];
  if (q.sort !== undefined && (key === undefined || !Object.hasOwn(keys, q.sort))) return undefined;
  const reverse = q.sort_reverse === "true";
  const ordered = key ? sortedBy(list, key, reverse) : reverse ? [...list].reverse() : list;
  return pageOf(ordered, request, name);
}
