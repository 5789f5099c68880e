// Closing handshakes and connection.update-secret, over a raw socket, against Warren and (when
// RABBITMQ_REF_URL is set) the reference RabbitMQ with the same assertions:
// - connection.update-secret is answered with update-secret-ok and the connection stays open;
// - after connection.close-ok the server keeps reading (and discarding) until the client closes,
//   so a client still writing never gets a reset before it reads close-ok;
// - nothing is written on a channel after its channel.close-ok (confirms due go before it).
// An amqplib test at the end covers the confirm case with a real client.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqplib from "amqplib";
import { writeBodyFrames, writeContentHeaderFrame, writeMethodFrame } from "../../src/amqp/frames.ts";
import { FRAME_METHOD } from "../../src/amqp/spec/constants.gen.ts";
import { type AmqpMethod, MethodId, methodName } from "../../src/amqp/spec/methods.gen.ts";
import { Writer } from "../../src/amqp/writer.ts";
import { BROKER_IS_PROCESS, referenceBroker, startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { type HandshakeOptions, openRawConnection, type RawClient } from "../helpers/raw_client.ts";

setDefaultTimeout(30_000);

const REF = referenceBroker();
if (!REF) console.warn("RABBITMQ_REF_URL unset: closing tests run against Warren only");

let b: TestBroker;
beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await b.stop();
});

interface Target {
  name: string;
  port: () => number;
  host: string;
  user: string;
  pass: string;
}
const targets: Target[] = [
  { name: "Warren", port: () => b.port, host: "127.0.0.1", user: "guest", pass: "guest" },
  ...(REF ? [{ name: "RabbitMQ", port: () => REF.port, host: REF.host, user: REF.user, pass: REF.pass }] : []),
];

let unique = 0;
const name = (what: string) => `closing-${what}-${process.pid}-${Date.now()}-${unique++}`;

/** Every frame in one socket write, so the server reads them together. */
function oneWrite(c: RawClient, fill: (w: Writer) => void): void {
  const w = new Writer(4096);
  fill(w);
  c.send(w.written().slice());
}

const methodsAfter = (c: RawClient, index: number, channel?: number): string[] =>
  c.frames.slice(index)
    .filter((f) => f.type === FRAME_METHOD && (channel === undefined || f.channel === channel))
    .map((f) => `${f.channel}:${f.method ? methodName(f.method.id) : "?"}`);

const CLOSE: AmqpMethod = { id: MethodId.ConnectionClose, replyCode: 200, replyText: "bye", classId: 0, methodId: 0 };

for (const t of targets) {
  const open = (opts: HandshakeOptions = {}) => openRawConnection(t.port(), { user: t.user, pass: t.pass, ...opts }, t.host);

  describe(`${t.name}: connection.update-secret`, () => {
    test("is answered with update-secret-ok and the connection stays open", async () => {
      const c = await open();
      try {
        await c.openChannel(1);
        c.sendMethod(0, { id: MethodId.ConnectionUpdateSecret, newSecret: new TextEncoder().encode(t.pass), reason: "rotation" });
        await c.waitForMethod(MethodId.ConnectionUpdateSecretOk);
        await c.openChannel(2);
        expect(methodsAfter(c, 0, 0)).not.toContain("0:connection.close");
      } finally {
        c.destroy();
      }
    });

    test("with a secret that is not the password is accepted too (the internal backend keeps no credential state)", async () => {
      const c = await open();
      try {
        c.sendMethod(0, { id: MethodId.ConnectionUpdateSecret, newSecret: new TextEncoder().encode("not-the-password"), reason: "r" });
        await c.waitForMethod(MethodId.ConnectionUpdateSecretOk);
        await c.openChannel(1);
      } finally {
        c.destroy();
      }
    });
  });

  describe(`${t.name}: connection.close from the client`, () => {
    test("close-ok, then frames already sent are read and discarded, and a repeated close gets close-ok again", async () => {
      const c = await open();
      try {
        await c.openChannel(1);
        const before = c.frames.length;
        oneWrite(c, (w) => {
          writeMethodFrame(w, 0, CLOSE);
          // A client still writing: a method, a publish and a heartbeat after its close.
          writeMethodFrame(w, 1, {
            id: MethodId.QueueDeclare,
            ticket: 0,
            queue: "",
            passive: false,
            durable: false,
            exclusive: true,
            autoDelete: false,
            nowait: false,
            arguments: {},
          });
          writeMethodFrame(w, 1, {
            id: MethodId.BasicPublish,
            ticket: 0,
            exchange: "",
            routingKey: "nowhere",
            mandatory: true,
            immediate: false,
          });
          writeContentHeaderFrame(w, 1, 60, 3, new Uint8Array([0, 0]));
          writeBodyFrames(w, 1, new TextEncoder().encode("abc"), 0);
        });
        await c.waitForMethod(MethodId.ConnectionCloseOk);
        // The socket is still read: another close is answered.
        c.sendMethod(0, CLOSE);
        await c.waitForMethod(MethodId.ConnectionCloseOk);
        expect(c.closed).toBe(false);
        expect(methodsAfter(c, before)).toEqual(["0:connection.close-ok", "0:connection.close-ok"]);
        // The client closes its side; the server then closes too.
        c.socket.end();
        await c.waitForClose(10_000);
      } finally {
        c.destroy();
      }
    });

    test("a client that never closes its socket after close-ok is dropped (the closing timeout: the heartbeat interval)", async () => {
      const c = await open({ tune: { heartbeat: 1 } });
      try {
        c.sendMethod(0, CLOSE);
        await c.waitForMethod(MethodId.ConnectionCloseOk);
        await c.waitForClose(15_000);
      } finally {
        c.destroy();
      }
    });
  });

  describe(`${t.name}: channel.close`, () => {
    test("no frame is written on a channel after its close-ok, even with confirms pending; the number can be reused at once", async () => {
      const c = await open();
      const queue = name("q");
      try {
        await c.openChannel(1);
        c.sendMethod(1, {
          id: MethodId.QueueDeclare,
          ticket: 0,
          queue,
          passive: false,
          durable: true,
          exclusive: false,
          autoDelete: false,
          nowait: false,
          arguments: {},
        });
        await c.waitForMethod(MethodId.QueueDeclareOk);
        c.sendMethod(1, { id: MethodId.ConfirmSelect, nowait: false });
        await c.waitForMethod(MethodId.ConfirmSelectOk);
        const body = new TextEncoder().encode("persistent");
        const persistent = new Uint8Array([0x10, 0x00, 2]); // delivery-mode present, = 2
        oneWrite(c, (w) => {
          for (let i = 0; i < 50; i++) {
            writeMethodFrame(w, 1, {
              id: MethodId.BasicPublish,
              ticket: 0,
              exchange: "",
              routingKey: queue,
              mandatory: false,
              immediate: false,
            });
            writeContentHeaderFrame(w, 1, 60, body.length, persistent);
            writeBodyFrames(w, 1, body, 0);
          }
          writeMethodFrame(w, 1, { id: MethodId.ChannelClose, replyCode: 200, replyText: "done", classId: 0, methodId: 0 });
        });
        await c.waitForMethod(MethodId.ChannelCloseOk);
        const afterCloseOk = c.frames.findIndex((f) => f.method?.id === MethodId.ChannelCloseOk) + 1;
        // Reuse channel 1 and wait for a reply sent after the publishes were stored.
        oneWrite(c, (w) => {
          writeMethodFrame(w, 1, { id: MethodId.ChannelOpen, outOfBand: "" });
          writeMethodFrame(w, 1, {
            id: MethodId.QueueDeclare,
            ticket: 0,
            queue,
            passive: false,
            durable: true,
            exclusive: false,
            autoDelete: false,
            nowait: false,
            arguments: {},
          });
        });
        await c.waitForMethod(MethodId.QueueDeclareOk);
        expect(methodsAfter(c, afterCloseOk, 1)).toEqual(["1:channel.open-ok", "1:queue.declare-ok"]);
        // The acks sent before close-ok (if any) are cumulative and in order.
        const tags = c.frames.slice(0, afterCloseOk).flatMap((f) => (f.method?.id === MethodId.BasicAck ? [f.method.deliveryTag] : []));
        expect(tags).toEqual([...tags].sort((x, y) => Number(x) - Number(y)));
        c.sendMethod(1, { id: MethodId.QueueDelete, ticket: 0, queue, ifUnused: false, ifEmpty: false, nowait: false });
        await c.waitForMethod(MethodId.QueueDeleteOk);
      } finally {
        c.destroy();
      }
    });
  });
}

describe("Warren: connection.update-secret checks the user again", () => {
  test.skipIf(BROKER_IS_PROCESS)("a user who lost access to the connection's vhost gets 530 NOT_ALLOWED naming the vhost", async () => {
    b.broker.addUser("rotating", "pw", []);
    b.broker.setPermissions("rotating", "/", { configure: ".*", write: ".*", read: ".*" });
    const c = await openRawConnection(b.port, { user: "rotating", pass: "pw" });
    try {
      b.broker.clearPermissions("rotating", "/");
      c.sendMethod(0, { id: MethodId.ConnectionUpdateSecret, newSecret: new TextEncoder().encode("pw2"), reason: "r" });
      const close = await c.waitForMethod(MethodId.ConnectionClose);
      expect([close.replyCode, close.replyText, close.classId, close.methodId])
        .toEqual([530, "NOT_ALLOWED - access to vhost '/' refused for user 'rotating'", 10, 70]);
    } finally {
      c.destroy();
    }
  });
});

describe("amqplib: closing a confirm channel with publishes in flight", () => {
  test("no 'Frame on unknown channel': the connection stays usable and the channel number is reused", async () => {
    const conn = await amqplib.connect(b.url);
    const errors: string[] = [];
    conn.on("error", (e: Error) => errors.push(e.message));
    try {
      const queue = name("amqplib");
      for (let round = 0; round < 3; round++) {
        const ch = await conn.createConfirmChannel();
        ch.on("error", () => {});
        await ch.assertQueue(queue, { durable: true });
        for (let i = 0; i < 200; i++) ch.publish("", queue, Buffer.from(`m${i}`), { persistent: true }, () => {});
        await ch.close();
      }
      const ch = await conn.createChannel();
      const ok = await ch.checkQueue(queue);
      expect(ok.messageCount).toBe(600);
      await ch.deleteQueue(queue);
      await ch.close();
      expect(errors).toEqual([]);
    } finally {
      await conn.close().catch(() => {});
    }
  });
});
