// Hostile management API requests for the HTTP fuzzer: RabbitMQ's paths with odd segments
// (escapes, bad escapes, unicode, huge), odd query parameters, bad credentials and content
// types, and bodies that are mutated JSON, deep nesting, wrong types or bytes. Names never touch
// the guest user or the "/" vhost's existence, so the fuzzer's own credentials keep working.
import type { Rng } from "./rng.ts";

export interface HttpCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

const NAMES = [
  "fuzz-a",
  "fuzz-a",
  "fuzz%20b",
  "fuzz%2Fc",
  "%zz",
  "~",
  "fuzz-%E2%98%83",
  "..",
  "fuzz.%23",
  "",
  "x".repeat(300),
  "amq.direct",
  "amq.default",
];
const VHOSTS = ["%2F", "fuzz-v", "fuzz-v", "%zz", "nope"];
const OWN_VHOSTS = ["fuzz-v", "fuzz-v2", "%zz"];
const R = ["GET"];
const RW = ["GET", "PUT", "DELETE"];
const POST = ["POST"];
/** Path templates and the methods RabbitMQ takes on them (others are tried now and then). */
const TEMPLATES: [string[], (r: Rng) => string][] = [
  [R, () => "/api/overview"],
  [R, () => "/api/nodes"],
  [R, (r) => `/api/nodes/${r.pick(NAMES)}`],
  [R, () => "/api/queues"],
  [R, (r) => `/api/queues/${r.pick(VHOSTS)}`],
  [RW, (r) => `/api/queues/${r.pick(VHOSTS)}/${r.pick(NAMES)}`],
  [POST, (r) => `/api/queues/${r.pick(VHOSTS)}/${r.pick(NAMES)}/get`],
  [["DELETE"], (r) => `/api/queues/${r.pick(VHOSTS)}/${r.pick(NAMES)}/contents`],
  [R, (r) => `/api/queues/${r.pick(VHOSTS)}/${r.pick(NAMES)}/bindings`],
  [RW, (r) => `/api/exchanges/${r.pick(VHOSTS)}/${r.pick(NAMES)}`],
  [POST, (r) => `/api/exchanges/${r.pick(VHOSTS)}/${r.pick(NAMES)}/publish`],
  [["GET", "POST"], (r) => `/api/bindings/${r.pick(VHOSTS)}/e/${r.pick(NAMES)}/q/${r.pick(NAMES)}`],
  [
    ["GET", "DELETE"],
    (r) =>
      `/api/bindings/${r.pick(VHOSTS)}/e/${r.pick(NAMES)}/${r.pick(["q", "e"])}/${r.pick(NAMES)}/${
        r.pick(["~", "k~abc", "a.%2523", "%7E%7E", "~~~", "%zz"])
      }`,
  ],
  [RW, (r) => `/api/users/${r.pick(NAMES)}`],
  [RW, (r) => `/api/permissions/${r.pick(VHOSTS)}/${r.pick(NAMES)}`],
  [RW, (r) => `/api/topic-permissions/${r.pick(VHOSTS)}/${r.pick(NAMES)}`],
  [RW, (r) => `/api/policies/${r.pick(VHOSTS)}/${r.pick(NAMES)}`],
  [RW, (r) => `/api/operator-policies/${r.pick(VHOSTS)}/${r.pick(NAMES)}`],
  [RW, (r) => `/api/parameters/${r.pick(["vhost-limits", "federation-upstream", "nope"])}/${r.pick(VHOSTS)}/${r.pick(NAMES)}`],
  [RW, (r) => `/api/global-parameters/${r.pick(NAMES)}`],
  [RW, (r) => `/api/vhosts/${r.pick(OWN_VHOSTS)}`],
  [R, (r) => `/api/vhost-limits/${r.pick(VHOSTS)}`],
  [RW, (r) => `/api/vhost-limits/${r.pick(OWN_VHOSTS)}/${r.pick(["max-connections", "max-queues", "nope"])}`],
  [RW, (r) => `/api/user-limits/${r.pick(NAMES)}/max-channels`],
  [["GET", "POST"], () => "/api/definitions"],
  [["GET", "POST"], (r) => `/api/definitions/${r.pick(VHOSTS)}`],
  [["GET", "DELETE"], (r) => `/api/connections/${r.pick(NAMES)}`],
  [R, (r) => `/api/channels/${r.pick(NAMES)}`],
  [
    R,
    (r) =>
      `/api/health/checks/${
        r.pick(["alarms", "local-alarms", "port-listener/5672", "port-listener/x", "protocol-listener/amqp", "virtual-hosts", "nope"])
      }`,
  ],
  [R, (r) => `/api/aliveness-test/${r.pick(VHOSTS)}`],
  [R, (r) => `/api/auth/hash_password/${r.pick(NAMES)}`],
  [R, () => "/api/whoami"],
  [R, () => "/api/extensions"],
  [R, (r) => `/api/${r.pick(NAMES)}/${r.pick(NAMES)}`],
  [R, () => "/"],
  [R, () => "/metrics"],
  [R, (r) => `/${"a/".repeat(r.int(200))}`],
];
const QUERIES = [
  "",
  "?columns=name,messages",
  "?sort=name&sort_reverse=true",
  "?page=1&page_size=5",
  "?page=0",
  "?page=-1&page_size=100000",
  "?name=(&use_regex=true",
  "?name=.*&use_regex=true",
  "?columns=a.b.c.d",
  "?page=x",
  "?disable_stats=true&enable_queue_totals=true",
  "?%zz=%zz",
];
const METHODS = ["GET", "GET", "PUT", "PUT", "POST", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH"];

function jsonValue(r: Rng, depth: number): unknown {
  switch (r.int(depth > 3 ? 6 : 9)) {
    case 0:
      return r.pick([0, -1, 1.5, 2 ** 53, 1e308, -0]);
    case 1:
      return r.pick(["", "x", "%2F", "\u0000", "\ud800", "a".repeat(1000), "true", "quorum", "^.*$", "(", "amq.topic"]);
    case 2:
      return r.chance(0.5);
    case 3:
      return null;
    case 4:
      return r.pick(["classic", "quorum", "direct", "topic", "administrator", "string", "base64"]);
    case 5:
      return r.pick([{}, [], [1, "a"]]);
    case 6:
      return Array.from({ length: r.int(4) }, () => jsonValue(r, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) out[r.pick(KEYS)] = jsonValue(r, depth + 1);
      return out;
    }
  }
}
const KEYS = [
  "durable",
  "auto_delete",
  "arguments",
  "type",
  "internal",
  "routing_key",
  "payload",
  "payload_encoding",
  "properties",
  "count",
  "ackmode",
  "encoding",
  "truncate",
  "password",
  "password_hash",
  "tags",
  "configure",
  "write",
  "read",
  "pattern",
  "definition",
  "apply-to",
  "priority",
  "value",
  "x-max-length",
  "x-queue-type",
  "x-message-ttl",
  "queues",
  "exchanges",
  "bindings",
  "vhosts",
  "policies",
  "description",
  "limits",
  "component",
  "name",
];

function body(r: Rng): Uint8Array | undefined {
  const enc = new TextEncoder();
  switch (r.int(7)) {
    case 0:
      return undefined;
    case 1:
      return enc.encode(JSON.stringify(jsonValue(r, 0)));
    case 2: { // valid JSON, cut short
      const text = JSON.stringify(jsonValue(r, 0));
      return enc.encode(text.slice(0, r.int(text.length + 1)));
    }
    case 3:
      return enc.encode("[".repeat(r.pick([10, 1000, 100_000])));
    case 4:
      return r.bytes(r.int(200));
    case 5:
      return enc.encode(JSON.stringify({ [r.pick(KEYS)]: jsonValue(r, 0), arguments: { [r.pick(KEYS)]: jsonValue(r, 0) } }));
    default:
      return enc.encode(`{"a":${"1".repeat(r.pick([20, 400]))}}`);
  }
}

export function hostileRequest(r: Rng, auth: string): HttpCase {
  const headers: Record<string, string> = {};
  headers.authorization = r.chance(0.85)
    ? auth
    : r.pick(["Basic !!!", "Basic " + btoa("guest:nope"), "Bearer x", "Basic " + btoa("nouser"), ""]);
  if (r.chance(0.7)) {
    headers["content-type"] = r.pick([
      "application/json",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ]);
  }
  const [methods, path] = r.pick(TEMPLATES);
  return { method: r.chance(0.85) ? r.pick(methods) : r.pick(METHODS), path: path(r) + r.pick(QUERIES), headers, body: body(r) };
}

/** Requests that are not HTTP as a client library sends it: bad request lines, headers, chunking. */
export function malformedRaw(r: Rng): string {
  return r.pick([
    "GET\r\n\r\n",
    "GET / HTTP/9.9\r\n\r\n",
    "\r\n\r\n\r\n",
    "GET /api/overview HTTP/1.1\r\nHost: x\r\n" + "X: y\r\n".repeat(5000) + "\r\n",
    "POST /api/definitions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "POST /api/definitions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    "POST /api/definitions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}",
    "GET /" + "a".repeat(100_000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
    "\u0000\u0001\u0002\u0003",
    "GET /api/overview HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + "A".repeat(20_000) + "\r\n\r\n",
    "PUT /api/queues/%2F/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffff\r\n",
    "GET /api/overview HTTP/1.0\r\n\r\n",
  ]);
}
