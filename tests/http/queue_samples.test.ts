// lengths_age/lengths_incr, msg_rates_age/msg_rates_incr and data_rates_age/data_rates_incr on
// GET /api/queues[...]: the *_details objects gain `samples`, `avg` and `avg_rate` as RabbitMQ's
// (rabbit-hole's clients index samples[0]). Shapes and range errors are checked on Warren and,
// when RABBITMQ_REF_URL/RABBITMQ_REF_HTTP are set, with the same assertions on the reference.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqp from "amqplib";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { api, basic } from "../helpers/http.ts";
import { addQueueSamples } from "../../src/http/samples.ts";
import { QUEUE_SERIES } from "../../src/http/rates.ts";

setDefaultTimeout(40_000);

const REF_URL = process.env.RABBITMQ_REF_URL;
const REF_HTTP = process.env.RABBITMQ_REF_HTTP;
if (!REF_URL || !REF_HTTP) console.warn("RABBITMQ_REF_URL/RABBITMQ_REF_HTTP unset: queue sample tests run against Warren only");

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b.stop();
});

const refHttp = REF_HTTP ? new URL(REF_HTTP) : undefined;
const sides = [
  { name: "Warren", amqp: () => b.url, base: () => b.httpUrl, auth: basic("guest", "guest") },
  ...(refHttp && REF_URL
    ? [{
      name: "RabbitMQ",
      amqp: () => REF_URL,
      base: () => `${refHttp.protocol}//${refHttp.host}`,
      auth: basic(decodeURIComponent(refHttp.username) || "guest", decodeURIComponent(refHttp.password) || "guest"),
    }]
    : []),
];
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const RANGE = "lengths_age=60&lengths_incr=5&msg_rates_age=60&msg_rates_incr=5&data_rates_age=60&data_rates_incr=5";

function expectSampled(details: unknown, count: number) {
  expect(details).toMatchObject({ rate: expect.any(Number), avg: expect.any(Number), avg_rate: expect.any(Number) });
  const samples = (details as { samples: { sample: number; timestamp: number }[] }).samples;
  expect(samples).toHaveLength(count);
  for (const s of samples) expect(s).toEqual({ sample: expect.any(Number), timestamp: expect.any(Number) });
  expect(samples[0]!.timestamp).toBeGreaterThan(samples[1]!.timestamp); // newest first
}

for (const side of sides) {
  describe(`${side.name}: queue samples`, () => {
    const Q = `samples-${suffix}`;
    const call = (path: string) => api(side.base(), "GET", path, undefined, side.auth);
    let conn: amqp.ChannelModel;
    beforeAll(async () => {
      conn = await amqp.connect(side.amqp());
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue(Q, { durable: false });
      for (let i = 0; i < 3; i++) ch.sendToQueue(Q, Buffer.from("x"));
      await ch.waitForConfirms();
      await ch.get(Q, { noAck: true });
    });
    afterAll(async () => {
      await api(side.base(), "DELETE", `/api/queues/%2F/${Q}`, undefined, side.auth);
      await conn.close();
    });
    /** The queue once all its stats show (RabbitMQ emits them on an interval, not all at once). */
    const sampledQueue = async (path: string) => {
      const deadline = Date.now() + 25_000;
      for (;;) {
        const body = (await call(path)).body;
        const q = Array.isArray(body) ? body.find((x: { name: string }) => x.name === Q) : body;
        const ms = q?.message_stats;
        const ready = ms?.publish_details?.samples && ms?.get_no_ack_details?.samples && ms?.deliver_get_details?.samples &&
          q?.messages === 2;
        if (ready || Date.now() > deadline) return q;
        await Bun.sleep(500);
      }
    };

    test("a queue, its vhost's list and the whole list carry samples, avg and avg_rate", async () => {
      for (const path of [`/api/queues/%2F/${Q}?${RANGE}`, `/api/queues/%2F?${RANGE}`, `/api/queues?${RANGE}`]) {
        const q = await sampledQueue(path);
        for (const key of ["messages_details", "messages_ready_details", "messages_unacknowledged_details"]) expectSampled(q[key], 13);
        for (const key of ["publish_details", "get_no_ack_details", "deliver_get_details"]) expectSampled(q.message_stats[key], 13);
        expect(q.messages_details.samples[0].sample).toBe(2);
      }
    });

    test("without a range, or with half of one, details hold the rate only", async () => {
      for (const query of ["", "?lengths_age=60", "?lengths_incr=5", "?lengths_age=x&lengths_incr=5"]) {
        const q = (await call(`/api/queues/%2F/${Q}${query}`)).body;
        expect({ query, samples: q.messages_details?.samples }).toEqual({ query, samples: undefined });
      }
    });

    test("a bad range is a 400 naming it", async () => {
      for (const [age, incr] of [[60, 0], [0, 5], [-5, 5], [501, 1]]) {
        const r = await call(`/api/queues/%2F/${Q}?lengths_age=${age}&lengths_incr=${incr}`);
        expect({ status: r.status, body: r.body }).toEqual({
          status: 400,
          body: { error: "bad_request", reason: `Invalid range parameters: age ${age}, incr ${incr}` },
        });
      }
    });
  });
}

describe("Warren: sample arithmetic", () => {
  const point = (at: number, messages: number, publish: number) => ({
    at,
    values: QUEUE_SERIES.map((s) => (s === "messages" ? messages : s === "publish" ? publish : 0)),
  });

  test("samples step back from now by incr, take the latest point at or before each, avg is the mean, avg_rate the slope", () => {
    const now = 1_000_000_000;
    // Newest first: the sampler's points every 5 s.
    const points = [point(now - 5000, 6, 30), point(now - 10000, 4, 20), point(now - 15000, 2, 10), point(now - 20000, 0, 0)];
    const json = { messages: 8, messages_details: { rate: 0.4 }, message_stats: { publish: 40, publish_details: { rate: 2 } } };
    const out = addQueueSamples(json, points, { lengths: { age: 15000, incr: 5000 }, msgRates: { age: 10000, incr: 5000 } }, now);
    expect(out.messages_details).toEqual({
      rate: 0.4,
      samples: [{ sample: 8, timestamp: now }, { sample: 6, timestamp: now - 5000 }, { sample: 4, timestamp: now - 10000 }, {
        sample: 2,
        timestamp: now - 15000,
      }],
      avg: 5,
      avg_rate: (8 - 2) / 15,
    });
    expect((out.message_stats as { publish_details: { samples: unknown[]; avg_rate: number } }).publish_details).toMatchObject({
      samples: [{ sample: 40 }, { sample: 30 }, { sample: 20 }],
      avg_rate: 2,
    });
  });

  test("before the first point the oldest value stands", () => {
    const now = 2_000_000_000;
    const out = addQueueSamples({ messages: 3, messages_details: { rate: 0 } }, [], { lengths: { age: 10000, incr: 5000 } }, now);
    expect(out.messages_details).toEqual({
      rate: 0,
      samples: [3, 3, 3].map((sample, k) => ({ sample, timestamp: now - k * 5000 })),
      avg: 3,
      avg_rate: 0,
    });
  });

  test("history is kept once asked for, at most HISTORY_POINTS per object", async () => {
    const { ratesFor, HISTORY_POINTS } = await import("../../src/http/rates.ts");
    const rates = ratesFor(b.broker);
    rates.keepHistory();
    const vhost = b.broker.vhosts.get("/")!;
    const q = vhost.declareQueue({ name: `history-${suffix}`, durable: false, autoDelete: false, exclusive: false, args: {} }, b.broker);
    const t0 = Date.now() + 10_000_000;
    for (let i = 0; i < HISTORY_POINTS + 20; i++) rates.sampleAll(t0 + i * 5000);
    expect(rates.points(q)).toHaveLength(HISTORY_POINTS);
    vhost.deleteQueue(q);
  });
});
