// Bindings through the management API, and RabbitMQ's properties key (key ~ phash2 of the args).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FIELD_TYPES } from "../../src/amqp/table.ts";
import { phash2 } from "../../src/http/erlang_hash.ts";
import { argsHash, propertiesKey } from "../../src/http/properties_key.ts";
import { createManagementApp, type ManagementApp } from "../../src/http/app.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";

describe("properties key", () => {
  test("empty key and no arguments is ~; a key alone is quoted as quote_plus does", () => {
    expect(propertiesKey("", {})).toBe("~");
    expect(propertiesKey("a.b", {})).toBe("a.b");
    expect(propertiesKey("a b/c~d", {})).toBe("a+b%2Fc%7Ed");
  });

  test("arguments add ~ and the base64url phash2 of the sorted table (a value RabbitMQ 3.10.8 gave)", () => {
    expect(propertiesKey("a.b", { foo: "bar" })).toBe("a.b~lwiNYA");
  });

  test("phash2 of simple terms matches Erlang's", () => {
    // erlang:phash2(X, 1 bsl 32) values from OTP
    expect(phash2({ kind: "list", items: [] })).toBe(3468870702);
    expect(phash2({ kind: "atom", name: "a" })).toBe(97);
  });

  test("the argument order does not change the hash (tables are sorted as RabbitMQ stores them)", () => {
    expect(argsHash({ b: 1, a: "x" })).toBe(argsHash({ a: "x", b: 1 }));
  });

  test("integer wire types are hashed by their RabbitMQ type", () => {
    const asLong = Object.assign({ n: 1 }, { [FIELD_TYPES]: { n: "l" } });
    expect(argsHash(asLong)).not.toBe(argsHash({ n: 1 }));
  });
});

describe("binding endpoints", () => {
  let tb: TestBroker;
  let app: ManagementApp;
  beforeAll(async () => {
    tb = await startTestBroker();
    app = createManagementApp(tb.broker);
    await api(app, "PUT", "/api/exchanges/%2F/http-bx", { type: "direct" });
    await api(app, "PUT", "/api/exchanges/%2F/http-bx2", { type: "fanout" });
    await api(app, "PUT", "/api/queues/%2F/http-bq", {});
  });
  afterAll(() => tb.stop());

  test("POST creates a binding: 201 with a Location relative to the request path", async () => {
    const r = await api(app, "POST", "/api/bindings/%2F/e/http-bx/q/http-bq", { routing_key: "k1", arguments: { foo: "bar" } });
    expect(r.status).toBe(201);
    expect(r.headers.get("location")).toBe(`http-bq/${propertiesKey("k1", { foo: "bar" })}`);
    const empty = await api(app, "POST", "/api/bindings/%2F/e/http-bx/q/http-bq", {});
    expect(empty.headers.get("location")).toBe("http-bq/~");
    const x2x = await api(app, "POST", "/api/bindings/%2F/e/http-bx/e/http-bx2", { routing_key: "x" });
    expect(x2x.headers.get("location")).toBe("http-bx2/x");
  });

  test("GET between two ends lists their bindings with properties keys", async () => {
    const r = await api(app, "GET", "/api/bindings/%2F/e/http-bx/q/http-bq");
    expect(r.body).toEqual([
      {
        source: "http-bx",
        vhost: "/",
        destination: "http-bq",
        destination_type: "queue",
        routing_key: "",
        arguments: {},
        properties_key: "~",
      },
      {
        source: "http-bx",
        vhost: "/",
        destination: "http-bq",
        destination_type: "queue",
        routing_key: "k1",
        arguments: { foo: "bar" },
        properties_key: propertiesKey("k1", { foo: "bar" }),
      },
    ]);
  });

  test("GET and DELETE one binding by its properties key", async () => {
    const key = propertiesKey("k1", { foo: "bar" });
    const one = await api(app, "GET", `/api/bindings/%2F/e/http-bx/q/http-bq/${key}`);
    expect(one.body.routing_key).toBe("k1");
    expect((await api(app, "GET", "/api/bindings/%2F/e/http-bx/q/http-bq/~")).body.routing_key).toBe("");
    expect((await api(app, "GET", "/api/bindings/%2F/e/http-bx/q/http-bq/k1")).status).toBe(404); // k1 has arguments
    expect((await api(app, "DELETE", `/api/bindings/%2F/e/http-bx/q/http-bq/${key}`)).status).toBe(204);
    expect((await api(app, "GET", `/api/bindings/%2F/e/http-bx/q/http-bq/${key}`)).status).toBe(404);
  });

  test("a routing key with spaces and ~ round-trips through its Location, not through its bare key (as RabbitMQ)", async () => {
    const posted = await api(app, "POST", "/api/bindings/%2F/e/http-bx/q/http-bq", { routing_key: "a b~c" });
    expect(posted.headers.get("location")).toBe("http-bq/a%2Bb%257Ec");
    expect((await api(app, "GET", `/api/bindings/%2F/e/http-bx/q/${posted.headers.get("location")}`)).body.routing_key).toBe("a b~c");
    // The server decodes %7E to "~" before the key is split on "~": two tokens, no such binding.
    expect((await api(app, "GET", `/api/bindings/%2F/e/http-bx/q/http-bq/${propertiesKey("a b~c", {})}`)).status).toBe(404);
  });

  test("Location and lookups encode properties keys as RabbitMQ does (values from RabbitMQ 3.10)", async () => {
    await api(app, "PUT", "/api/queues/%2F/loc(q)*", {});
    const cases: [string, Record<string, unknown> | undefined, string][] = [
      ["a.#", undefined, "http-bq/a.%2523"],
      ["a b~c/d%e+f", undefined, "http-bq/a%2Bb%257Ec%252Fd%2525e%252Bf"],
      ["", undefined, "http-bq/~"],
      ["x*", undefined, "http-bq/x%252A"],
      ["k é", undefined, "http-bq/k%2B%25C3%25A9"],
      ["a.#", { x: 1 }, "http-bq/a.%2523~9nmLZQ"],
    ];
    for (const [key, args, location] of cases) {
      const r = await api(app, "POST", "/api/bindings/%2F/e/http-bx/q/http-bq", { routing_key: key, ...(args ? { arguments: args } : {}) });
      expect({ key, location: r.headers.get("location") }).toEqual({ key, location });
    }
    const q = await api(app, "POST", "/api/bindings/%2F/e/http-bx/q/loc(q)*", { routing_key: "k" });
    expect(q.headers.get("location")).toBe("loc%28q%29%2A/k");
    const lookups: [string, number][] = [
      ["a.%2523", 200],
      ["a.%23", 200],
      ["a+b%257Ec%252Fd%2525e%252Bf", 200],
      ["a%2Bb%7Ec%2Fd%25e%2Bf", 404],
      ["a+b%7Ec%2Fd%25e%2Bf", 404],
      ["~", 200],
      ["%7E", 200],
      ["x%252A", 200],
      ["x*", 200],
      ["a.%2523~9nmLZQ", 200],
      ["a.%23%7E9nmLZQ", 200],
      ["a.%2523%7E9nmLZQ", 200],
      ["a.%25zz", 404],
      ["%zz", 400],
    ];
    for (const [segment, status] of lookups) {
      expect({ segment, status: (await api(app, "GET", `/api/bindings/%2F/e/http-bx/q/http-bq/${segment}`)).status }).toEqual({
        segment,
        status,
      });
    }
  });

  test("queue bindings start with the default exchange's implicit binding", async () => {
    const r = await api(app, "GET", "/api/queues/%2F/http-bq/bindings");
    expect(r.body[0]).toEqual({
      source: "",
      vhost: "/",
      destination: "http-bq",
      destination_type: "queue",
      routing_key: "http-bq",
      arguments: {},
      properties_key: "http-bq",
    });
    const all = await api(app, "GET", "/api/bindings/%2F");
    expect(all.body.length).toBeGreaterThanOrEqual(4);
  });

  test("binding to a missing exchange or queue: 404 naming it", async () => {
    const r = await api(app, "POST", "/api/bindings/%2F/e/http-none/q/http-bq", {});
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: "not_found", reason: "no exchange 'http-none' in vhost '/'" });
    expect((await api(app, "POST", "/api/bindings/%2F/e/http-bx/q/http-none", {})).body.reason).toBe("no queue 'http-none' in vhost '/'");
  });

  test("headers-exchange argument validation is AMQP's: 400", async () => {
    await api(app, "PUT", "/api/exchanges/%2F/http-hx", { type: "headers" });
    const r = await api(app, "POST", "/api/bindings/%2F/e/http-hx/q/http-bq", { arguments: { "x-match": "some" } });
    expect(r.status).toBe(400);
    expect(r.body.reason).toContain("Invalid x-match field value");
  });
});
