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
    if (c.req.method !== "GET" || c.res.status !== 200) return;
    if (q.columns === undefined && q.sort === undefined && q.page === undefined && q.sort_reverse === undefined) return;
    if (!(c.res.headers.get("content-type") ?? "").includes("application/json")) return;
    let body = (await c.res.json()) as Json;
    if (Array.isArray(body)) {
      if (q.sort !== undefined) body = sortBy(body, q.sort, q.sort_reverse === "true");
      else if (q.sort_reverse === "true") body = [...body].reverse();
    }
    if (q.columns !== undefined) {
      const columns = q.columns.split(",").filter((s) => s !== "").map((s) => s.split("."));
      body = Array.isArray(body) ? body.map((item) => pick(item, columns)) : pick(body, columns);
    }
    if (q.page !== undefined && Array.isArray(body)) body = paginate(body, q);
    c.res = new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
  };
}

function pick(item: Json, columns: string[][]): Json {
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

function sortBy(list: Json[], sort: string, reverse: boolean): Json[] {
  const path = sort.split(".");
  const sorted = [...list].sort((a, b) => {
    const x = field(a, path), y = field(b, path);
    if (x === y) return 0;
    if (x === undefined || x === null) return -1;
    if (y === undefined || y === null) return 1;
    return x < y ? -1 : 1;
  });
  return reverse ? sorted.reverse() : sorted;
}

/** A page as rabbit_mgmt_util:paginate answers it. */
function paginate(list: Json[], q: Record<string, string>): JsonObject {
  const page = Number(q.page);
  const pageSize = q.page_size === undefined ? 100 : Number(q.page_size);
  if (!Number.isInteger(page) || page < 1) throw badRequest("page must be a positive integer");
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 500) throw badRequest("page_size must be an integer from 1 to 500");
  let filtered = list;
  if (q.name !== undefined && q.name !== "") {
    const re = q.use_regex === "true" ? new RegExp(q.name) : undefined;
    filtered = list.filter((item) => {
      const name = String(field(item, ["name"]) ?? "");
      return re ? re.test(name) : name.includes(q.name!);
    });
  }
  const pageCount = Math.max(1, Math.ceil(filtered.length / pageSize));
  const items = filtered.slice((page - 1) * pageSize, page * pageSize);
  return { filtered_count: filtered.length, item_count: items.length, items, page, page_count: pageCount, page_size: pageSize, total_count: list.length };
}
