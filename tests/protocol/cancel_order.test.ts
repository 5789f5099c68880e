// queue.delete of a queue with consumers, over a raw socket, against Warren and (when
// RABBITMQ_REF_URL is set) the reference RabbitMQ with the same assertions: on the deleting
// channel queue.delete-ok comes before the basic.cancel of its consumers. amqplib's own suite
// ("cancelled consumer") closes the connection on the cancel; a delete-ok arriving after that is
// dropped and its pending reply rejected.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { FRAME_METHOD } from "../../src/amqp/spec/constants.gen.ts";
import { MethodId, methodName } from "../../src/amqp/spec/methods.gen.ts";
import { referenceBroker, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { openRawConnection, type RawClient } from "../helpers/raw_client.ts";

setDefaultTimeout(30_000);

const REF = referenceBroker();
if (!REF) console.warn("RABBITMQ_REF_URL unset: cancel-order tests run against Warren only");

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b.stop();
});

const targets = [
  { name: "Warren", port: () => b.port, host: "127.0.0.1", user: "guest", pass: "guest" },
  ...(REF ? [{ name: "RabbitMQ", port: () => REF.port, host: REF.host, user: REF.user, pass: REF.pass }] : []),
];

let unique = 0;
const name = (what: string) => `cancel-order-${what}-${process.pid}-${Date.now()}-${unique++}`;

const CANCEL_NOTIFY = { product: "cancel order test", capabilities: { consumer_cancel_notify: true } };

const methodsOn = (c: RawClient, channel: number): string[] =>
  c.frames.filter((f) => f.type === FRAME_METHOD && f.channel === channel).map((f) => (f.method ? methodName(f.method.id) : "?"));

/** Declares a queue on `declareOn` and one consumer on each of `consumeOn`. */
async function queueWithConsumers(c: RawClient, declareOn: number, consumeOn: number[], durable: boolean): Promise<string> {
  const queue = name(durable ? "durable" : "transient");
  c.sendMethod(declareOn, {
    id: MethodId.QueueDeclare,
    ticket: 0,
    queue,
    passive: false,
    durable,
    exclusive: false,
    autoDelete: false,
    nowait: false,
    arguments: {},
  });
  await c.waitForMethod(MethodId.QueueDeclareOk);
  for (const channel of consumeOn) {
    c.sendMethod(channel, {
      id: MethodId.BasicConsume,
      ticket: 0,
      queue,
      consumerTag: `c${channel}`,
      noLocal: false,
      noAck: true,
      exclusive: false,
      nowait: false,
      arguments: {},
    });
    await c.waitForFrame((f) => f.channel === channel && f.method?.id === MethodId.BasicConsumeOk);
  }
  return queue;
}

for (const t of targets) {
  const open = () => openRawConnection(t.port(), { user: t.user, pass: t.pass, clientProperties: CANCEL_NOTIFY }, t.host);

  const deleteQueue = (c: RawClient, channel: number, queue: string) =>
    c.sendMethod(channel, { id: MethodId.QueueDelete, ticket: 0, queue, ifUnused: false, ifEmpty: false, nowait: false });

  describe(`${t.name}: queue.delete with consumers`, () => {
    for (const durable of [true, false]) {
      test(`${durable ? "durable" : "transient"} queue: delete-ok before the cancel on the deleting channel`, async () => {
        const c = await open();
        try {
          await c.openChannel(1);
          const queue = await queueWithConsumers(c, 1, [1], durable);
          const before = methodsOn(c, 1).length;
          deleteQueue(c, 1, queue);
          await c.waitForFrame((f) => f.channel === 1 && f.method?.id === MethodId.QueueDeleteOk);
          await c.waitForFrame((f) => f.channel === 1 && f.method?.id === MethodId.BasicCancel);
          expect(methodsOn(c, 1).slice(before)).toEqual(["queue.delete-ok", "basic.cancel"]);
        } finally {
          c.destroy();
        }
      });
    }

    test("consumers on three channels: each gets one cancel, the deleting channel after its delete-ok", async () => {
      const c = await open();
      try {
        for (const channel of [1, 2, 3]) await c.openChannel(channel);
        const queue = await queueWithConsumers(c, 1, [1, 2, 3], true);
        const before = methodsOn(c, 1).length;
        deleteQueue(c, 1, queue);
        for (let cancels = 0; cancels < 3; cancels++) await c.waitForMethod(MethodId.BasicCancel);
        expect(methodsOn(c, 1).slice(before)).toEqual(["queue.delete-ok", "basic.cancel"]);
        expect(methodsOn(c, 2).filter((m) => m === "basic.cancel")).toHaveLength(1);
        expect(methodsOn(c, 3).filter((m) => m === "basic.cancel")).toHaveLength(1);
      } finally {
        c.destroy();
      }
    });
  });
}
