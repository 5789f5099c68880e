// The management API's request body limit (management.http.max_body_size): refused with 400
// "Exceeded HTTP request body size limit" on every route, before the body is read, whether the
// length is declared or the body is chunked; compared with the reference RabbitMQ when set.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api } from "../helpers/http.ts";
import { applySettings } from "../../src/config_keys.ts";
import { parseConfig } from "../../src/config_file.ts";

const AUTH = "Basic " + Buffer.from("guest:guest").toString("base64");
const REASON = "Exceeded HTTP request body size limit";

let def: TestBroker;
let small: TestBroker;

beforeAll(async () => {
  def = await startTestBroker();
  small = await startTestBroker({ httpMaxBodySize: 1000 });
});
afterAll(async () => {
  await def?.stop();
  await small?.stop();
});

/**
 * Sends the request head and only the first `sent` bytes of a body declared `declared` bytes
 * long, then waits for the answer: a server that reads the body before answering never answers.
 */
function headOnly(
  port: number,
  method: string,
  path: string,
  declared: number,
  sent: number,
  auth = AUTH,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.on("data", (d) => {
      data += d.toString("latin1");
      const end = data.indexOf("\r\n\r\n");
      const length = /content-length: *(\d+)/i.exec(data);
      if (end >= 0 && length && data.length >= end + 4 + Number(length[1])) {
        socket.destroy();
        resolve({ status: Number(data.slice(9, 12)), text: data.slice(end + 4) });
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`closed without a whole answer: ${JSON.stringify(data)}`)));
    socket.write(
      `${method} ${path} HTTP/1.1\r\nhost: x\r\nauthorization: ${auth}\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\n\r\n`,
    );
    socket.write("{".padEnd(sent, " "));
  });
}

/** A request whose body is chunked (no Content-Length). */
async function chunked(base: string, method: string, path: string, text: string): Promise<{ status: number; body: unknown }> {
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.subarray(i, i + 4096));
      controller.close();
    },
  });
  const response = await fetch(base + path, { method, headers: { authorization: AUTH, "content-type": "application/json" }, body });
  const out = await response.text();
  return { status: response.status, body: out === "" ? undefined : JSON.parse(out) };
}

describe("management.http.max_body_size", () => {
  test("the default is RabbitMQ's 20,000,000 bytes; a 120 MB declared body is refused before it is read", async () => {
    const r = await headOnly(def.httpPort, "POST", "/api/exchanges/%2F/amq.default/publish", 120_000_000, 1000);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toEqual({ error: "bad_request", reason: REASON });
    const justOver = await headOnly(def.httpPort, "PUT", "/api/queues/%2F/q-big", 20_000_001, 10);
    expect(justOver.status).toBe(400);
  });

  test("a body of exactly the limit is read; one byte more is refused, on every route", async () => {
    const exact = { name: "q", pad: "" };
    exact.pad = "x".repeat(1000 - JSON.stringify(exact).length);
    expect(JSON.stringify(exact).length).toBe(1000);
    expect((await api(small.httpUrl, "PUT", "/api/queues/%2F/q-exact", exact)).status).toBe(201);
    const over = JSON.stringify({ ...exact, pad: exact.pad + "y" });
    const routes: [string, string][] = [
      ["PUT", "/api/queues/%2F/q-over"],
      ["PUT", "/api/exchanges/%2F/x-over"],
      ["PUT", "/api/users/u-over"],
      ["PUT", "/api/vhosts/v-over"],
      ["POST", "/api/definitions"],
      ["POST", "/api/exchanges/%2F/amq.default/publish"],
      ["PUT", "/api/policies/%2F/p-over"],
      ["POST", "/api/bindings/%2F/e/amq.direct/q/q-exact"],
      ["PUT", "/api/parameters/federation-upstream/%2F/up"],
      ["POST", "/api/queues/%2F/q-exact/get"],
      ["DELETE", "/api/queues/%2F/q-exact/contents"],
      ["GET", "/api/overview"],
    ];
    for (const [method, path] of routes) {
      const r = await headOnly(small.httpPort, method, path, over.length, 1);
      expect({ method, path, status: r.status, body: JSON.parse(r.text) }).toEqual({
        method,
        path,
        status: 400,
        body: { error: "bad_request", reason: REASON },
      });
    }
    expect((await api(small.httpUrl, "GET", "/api/queues/%2F/q-over")).status).toBe(404);
  });

  test("a chunked body is read up to the limit and refused past it", async () => {
    const ok = await chunked(small.httpUrl, "PUT", "/api/queues/%2F/q-chunked", JSON.stringify({ durable: false }));
    expect(ok.status).toBe(201);
    const over = await chunked(small.httpUrl, "PUT", "/api/queues/%2F/q-chunked-over", JSON.stringify({ pad: "z".repeat(5000) }));
    expect(over).toEqual({ status: 400, body: { error: "bad_request", reason: REASON } });
    const huge = await chunked(def.httpUrl, "PUT", "/api/queues/%2F/q-chunked-huge", JSON.stringify({ pad: "z".repeat(21_000_000) }));
    expect(huge).toEqual({ status: 400, body: { error: "bad_request", reason: REASON } });
    expect((await api(small.httpUrl, "GET", "/api/queues/%2F/q-chunked-over")).status).toBe(404);
  });

  test("an unauthenticated request with a huge declared body is answered 401 without reading it", async () => {
    const r = await headOnly(
      def.httpPort,
      "PUT",
      "/api/queues/%2F/q",
      120_000_000,
      1,
      "Basic " + Buffer.from("guest:wrong").toString("base64"),
    );
    expect(r.status).toBe(401);
  });

  test("the key is read from the config file", () => {
    const { options } = applySettings(parseConfig("management.http.max_body_size = 1048576\n", "w.conf"), "w.conf");
    expect(options.httpMaxBodySize).toBe(1_048_576);
    expect(() => applySettings(parseConfig("management.http.max_body_size = lots\n", "w.conf"), "w.conf")).toThrow(/max_body_size/);
  });
});

const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
describe.skipIf(!REF_HTTP)("against the reference RabbitMQ", () => {
  test("an over-limit publish gets the same status and body", async () => {
    const ref = new URL(REF_HTTP!);
    const auth = "Basic " + Buffer.from(`${decodeURIComponent(ref.username)}:${decodeURIComponent(ref.password)}`).toString("base64");
    const body = JSON.stringify({ properties: {}, routing_key: "none", payload: "a".repeat(20_000_000), payload_encoding: "string" });
    const [theirs, ours] = await Promise.all([
      fetch(`${ref.protocol}//${ref.host}/api/exchanges/%2F/amq.default/publish`, {
        method: "POST",
        headers: { authorization: auth, "content-type": "application/json" },
        body,
      }),
      fetch(`${def.httpUrl}/api/exchanges/%2F/amq.default/publish`, {
        method: "POST",
        headers: { authorization: AUTH, "content-type": "application/json" },
        body,
      }),
    ]);
    expect({ status: ours.status, body: await ours.json() }).toEqual({ status: theirs.status, body: await theirs.json() });
  });
});
