// Binding properties keys in paths, Warren against the reference RabbitMQ (RABBITMQ_REF_HTTP):
// the Location header after POST /api/bindings/… and which path segments find a binding.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";

const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF_HTTP) console.warn("binding Location differential skipped: set RABBITMQ_REF_HTTP");

const Q = `loc-diff-${process.pid}`;
const KEYS: [string, Record<string, unknown> | undefined][] = [
  ["a.#", undefined],
  ["a b~c/d%e+f", undefined],
  ["", undefined],
  ["x*(y)!'", undefined],
  ["k é", undefined],
  ["a.#", { x: 1 }],
];
const SEGMENTS = [
  "a.%2523",
  "a.%23",
  "a+b%257Ec%252Fd%2525e%252Bf",
  "a%2Bb%7Ec%2Fd%25e%2Bf",
  "a+b%7Ec%2Fd%25e%2Bf",
  "~",
  "%7E",
  "a.%2523~9nmLZQ",
  "a.%23%7E9nmLZQ",
  "a.%2523%7E9nmLZQ",
  "a.%25zz",
  "a.%2523~",
  "~~",
  "a.%2523~~",
  "~9nmLZQ",
  "%7E%7E",
];

describe.skipIf(!REF_HTTP)("binding properties keys match RabbitMQ's both ways", () => {
  let tb: TestBroker;
  const sides: { http: string; auth: string }[] = [];

  beforeAll(async () => {
    tb = await startTestBroker();
    const u = new URL(REF_HTTP!);
    sides.push({ http: tb.httpUrl, auth: basic("guest", "guest") });
    sides.push({ http: `${u.protocol}//${u.host}`, auth: basic(decodeURIComponent(u.username), decodeURIComponent(u.password)) });
    for (const s of sides) expect((await api(s.http, "PUT", `/api/queues/%2F/${Q}`, { durable: false }, s.auth)).status).toBeLessThan(300);
  });
  afterAll(async () => {
    for (const s of sides) await api(s.http, "DELETE", `/api/queues/%2F/${Q}`, undefined, s.auth).catch(() => {});
    await tb?.stop();
  });

  test("the same Location for every routing key", async () => {
    for (const [key, args] of KEYS) {
      const body = { routing_key: key, ...(args ? { arguments: args } : {}) };
      const [w, r] = await Promise.all(sides.map((s) => api(s.http, "POST", `/api/bindings/%2F/e/amq.topic/q/${Q}`, body, s.auth)));
      expect({ key, location: w!.headers.get("location") }).toEqual({ key, location: r!.headers.get("location") });
    }
  });

  test("the same path segments find a binding", async () => {
    for (const segment of SEGMENTS) {
      const [w, r] = await Promise.all(
        sides.map((s) => api(s.http, "GET", `/api/bindings/%2F/e/amq.topic/q/${Q}/${segment}`, undefined, s.auth)),
      );
      expect({ segment, status: w!.status, key: w!.body?.routing_key }).toEqual({ segment, status: r!.status, key: r!.body?.routing_key });
    }
  });
});
