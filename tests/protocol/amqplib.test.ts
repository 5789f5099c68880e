// amqplib (the Node client most RabbitMQ users have) against Warren: connection and channel
// lifecycle, tuning, heartbeats, authentication, server-initiated close.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import amqplib, { type ChannelModel } from "amqplib";
import { sleep, startTestBroker, type TestBroker, withTimeout } from "../helpers/broker.ts";

// bunfig.toml's [test] timeout is not applied by this Bun; set it here.
setDefaultTimeout(30_000);

/** What amqplib's connection object holds at runtime beyond its published type. */
interface AmqplibConnection {
  frameMax: number;
  channelMax: number;
  heartbeat: number;
  serverProperties: Record<string, unknown> & { capabilities?: Record<string, unknown> };
}
const internals = (conn: ChannelModel) => conn.connection as unknown as AmqplibConnection;

/** Resolves with the error passed to the connection's 'close' event (or undefined). */
function closeEvent(conn: ChannelModel): Promise<Error | undefined> {
  return new Promise((resolve) => conn.once("close", (err?: Error) => resolve(err)));
}

/** Connects, failing the test instead of hanging if the server never answers. */
function connect(url: string, socketOptions: Record<string, unknown> = {}): Promise<ChannelModel> {
  return withTimeout(amqplib.connect(url, { timeout: 4000, ...socketOptions }), 4500, `amqplib.connect(${url})`);
}

/** Connects expecting refusal; returns the error. */
async function connectError(url: string, socketOptions: Record<string, unknown> = {}): Promise<Error> {
  try {
    const conn = await connect(url, socketOptions);
    await conn.close().catch(() => {});
  } catch (err) {
    return err as Error;
  }
  throw new Error(`expected connecting to ${url} to fail, but it succeeded`);
}

describe("amqplib", () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker();
  });
  afterAll(async () => {
    await b.stop();
  });

  test("connects and closes cleanly", async () => {
    const conn = await connect(b.url);
    const closed = closeEvent(conn);
    await withTimeout(conn.close(), 5000, "conn.close()");
    expect(await withTimeout(closed, 5000, "close event")).toBeUndefined();
  });

  test("opens and closes 100 channels on one connection", async () => {
    const conn = await connect(b.url);
    try {
      const channels = await withTimeout(
        Promise.all(Array.from({ length: 100 }, () => conn.createChannel())),
        10_000,
        "opening 100 channels",
      );
      expect(channels.length).toBe(100);
      await withTimeout(Promise.all(channels.map((ch) => ch.close())), 10_000, "closing 100 channels");
      // Channel numbers are free again: open another batch on the same connection.
      const again = await withTimeout(Promise.all(Array.from({ length: 10 }, () => conn.createChannel())), 5000, "reopen");
      expect(again.length).toBe(10);
    } finally {
      await conn.close();
    }
  });

  test("server offers frame_max 131072, channel_max 2047, heartbeat 60 and the client accepts them", async () => {
    // amqplib asks for frame_max 131072 and channel_max 0 (no limit) by default; with no
    // heartbeat preference it takes the server's value.
    const conn = await connect(b.url);
    try {
      const c = internals(conn);
      expect(c.frameMax).toBe(131072);
      expect(c.channelMax).toBe(2047);
      expect(c.heartbeat).toBe(60);
    } finally {
      await conn.close();
    }
  });

  test("a client asking for lower frame_max, channel_max and heartbeat gets them", async () => {
    const conn = await connect(`${b.url}?frameMax=16384&heartbeat=10&channelMax=100`);
    try {
      const c = internals(conn);
      expect(c.frameMax).toBe(16384);
      expect(c.channelMax).toBe(100);
      expect(c.heartbeat).toBe(10);
      const ch = await conn.createChannel();
      await ch.close();
    } finally {
      await conn.close();
    }
  });

  test("heartbeat=1: an idle connection stays open for 3.5 s and can still open a channel", async () => {
    // amqplib closes the connection with "Heartbeat timeout" when it receives nothing for two
    // intervals, so this also checks that the server sends heartbeats.
    const conn = await connect(`${b.url}?heartbeat=1`);
    const errors: Error[] = [];
    conn.on("error", (err: Error) => errors.push(err));
    let closedWith: Error | undefined | null = null;
    conn.on("close", (err?: Error) => {
      closedWith = err;
    });
    try {
      expect(internals(conn).heartbeat).toBe(1);
      await sleep(3500);
      expect(errors.map((e) => e.message)).toEqual([]);
      expect(closedWith).toBeNull();
      const ch = await withTimeout(conn.createChannel(), 5000, "createChannel after idling");
      await ch.close();
    } finally {
      await conn.close().catch(() => {});
    }
  }, 15_000);

  test("server properties name Warren and announce RabbitMQ's capabilities", async () => {
    const conn = await connect(b.url);
    try {
      const props = internals(conn).serverProperties;
      expect(props.product).toBe("Warren");
      expect(typeof props.version).toBe("string");
      expect(props.capabilities).toMatchObject({
        publisher_confirms: true,
        exchange_exchange_bindings: true,
        "basic.nack": true,
        consumer_cancel_notify: true,
        "connection.blocked": true,
        consumer_priorities: true,
        authentication_failure_close: true,
        per_consumer_qos: true,
        direct_reply_to: true,
      });
    } finally {
      await conn.close();
    }
  });

  test("wrong password is refused promptly with ACCESS_REFUSED (403)", async () => {
    const err = await connectError(`amqp://guest:wrong@127.0.0.1:${b.port}`);
    expect(err.message).toMatch(/403|ACCESS.REFUSED/);
  });

  test("unknown user is refused promptly with ACCESS_REFUSED (403)", async () => {
    const err = await connectError(`amqp://nobody:guest@127.0.0.1:${b.port}`);
    expect(err.message).toMatch(/403|ACCESS.REFUSED/);
  });

  test("unknown vhost is refused with connection.close instead of open-ok", async () => {
    // amqplib reports this as "Expected ConnectionOpenOk; got <ConnectionClose …>" without the
    // code; raw_frames.test.ts checks the 530 NOT_ALLOWED itself.
    const err = await connectError(`${b.url}/no-such-vhost`);
    expect(err.message).toMatch(/ConnectionClose|connection\.close|530|NOT.ALLOWED/i);
  });

  test("AMQPLAIN login works", async () => {
    const credentials = amqplib.credentials.amqplain("guest", "guest");
    const conn = await connect(`amqp://127.0.0.1:${b.port}`, { credentials });
    try {
      const ch = await conn.createChannel();
      await ch.close();
    } finally {
      await conn.close();
    }
  });

  test("AMQPLAIN with a wrong password is refused with ACCESS_REFUSED", async () => {
    const credentials = amqplib.credentials.amqplain("guest", "wrong");
    const err = await connectError(`amqp://127.0.0.1:${b.port}`, { credentials });
    expect(err.message).toMatch(/403|ACCESS.REFUSED/);
  });

  test("a client survives broker.stop(): close event with 320 CONNECTION_FORCED, no crash", async () => {
    const own = await startTestBroker();
    try {
      const conn = await connect(own.url);
      const ch = await conn.createChannel();
      const errors: Error[] = [];
      conn.on("error", (err: Error) => errors.push(err));
      ch.on("error", (err: Error) => errors.push(err));
      const closed = closeEvent(conn);
      await own.stop();
      const err = await withTimeout(closed, 5000, "client close event after broker.stop()");
      expect(err).toBeDefined();
      expect((err as Error & { code?: number }).code).toBe(320);
      expect(err!.message).toMatch(/320|CONNECTION.FORCED/);
      // 320 is not "fatal" to amqplib: no 'error' event, only 'close'.
      expect(errors).toEqual([]);
    } finally {
      await own.stop();
    }
  });
});

describe("amqplib with a custom default user", () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ defaultUser: "admin", defaultPass: "s3cret" });
  });
  afterAll(async () => {
    await b.stop();
  });

  test("the configured default user can log in", async () => {
    const conn = await connect(`amqp://admin:s3cret@127.0.0.1:${b.port}`);
    const ch = await conn.createChannel();
    await ch.close();
    await conn.close();
  });

  test("guest no longer exists and is refused", async () => {
    const err = await connectError(`amqp://guest:guest@127.0.0.1:${b.port}`);
    expect(err.message).toMatch(/403|ACCESS.REFUSED/);
  });

  test("the default user with a wrong password is refused", async () => {
    const err = await connectError(`amqp://admin:guest@127.0.0.1:${b.port}`);
    expect(err.message).toMatch(/403|ACCESS.REFUSED/);
  });
});
