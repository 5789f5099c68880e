// @cloudamqp/amqp-client against Warren: connection and channel lifecycle, tuning, heartbeats,
// authentication, server-initiated close.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { AMQPClient, type AMQPError } from "@cloudamqp/amqp-client";
import { sleep, startTestBroker, type TestBroker, withTimeout } from "../helpers/broker.ts";

// bunfig.toml's [test] timeout is not applied by this Bun; set it here.
setDefaultTimeout(30_000);

async function connect(url: string): Promise<AMQPClient> {
  const client = new AMQPClient(url);
  await withTimeout(client.connect(), 4500, `AMQPClient.connect(${url})`);
  return client;
}

async function connectError(url: string): Promise<Error> {
  const client = new AMQPClient(url);
  try {
    await withTimeout(client.connect(), 4500, `AMQPClient.connect(${url})`);
  } catch (err) {
    return err as Error;
  }
  await client.close().catch(() => {});
  throw new Error(`expected connecting to ${url} to fail, but it succeeded`);
}

describe("@cloudamqp/amqp-client", () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker();
  });
  afterAll(async () => {
    await b.stop();
  });

  test("connects and closes cleanly", async () => {
    const client = await connect(b.url);
    expect(client.closed).toBe(false);
    await withTimeout(client.close(), 5000, "client.close()");
    expect(client.closed).toBe(true);
  });

  test("opens and closes 100 channels on one connection", async () => {
    const client = await connect(b.url);
    try {
      const channels = [];
      for (let i = 0; i < 100; i++) channels.push(await withTimeout(client.channel(), 5000, `channel ${i + 1}`));
      expect(new Set(channels.map((ch) => ch.id)).size).toBe(100);
      await withTimeout(Promise.all(channels.map((ch) => ch.close())), 10_000, "closing 100 channels");
      expect(channels.every((ch) => ch.closed)).toBe(true);
      // A closed channel's number can be opened again.
      const again = await withTimeout(client.channel(channels[0]!.id), 5000, "reopen a channel number");
      expect(again.closed).toBe(false);
    } finally {
      await client.close();
    }
  });

  test("a channel can be opened on a chosen number", async () => {
    const client = await connect(b.url);
    try {
      const ch = await withTimeout(client.channel(2000), 5000, "channel 2000");
      expect(ch.id).toBe(2000);
      await ch.close();
    } finally {
      await client.close();
    }
  });

  test("server offers frame_max 131072, channel_max 2047, heartbeat 60", async () => {
    // The client takes the minimum of its own values and the server's, so ask for more.
    const client = await connect(`${b.url}?frameMax=1048576&heartbeat=600`);
    try {
      expect(client.frameMax).toBe(131072);
      expect(client.channelMax).toBe(2047);
      expect(client.heartbeat).toBe(60);
    } finally {
      await client.close();
    }
  });

  test("a client asking for lower frame_max, channel_max and heartbeat gets them", async () => {
    const client = await connect(`${b.url}?frameMax=16384&heartbeat=10&channelMax=100`);
    try {
      expect(client.frameMax).toBe(16384);
      expect(client.channelMax).toBe(100);
      expect(client.heartbeat).toBe(10);
      const ch = await client.channel();
      await ch.close();
    } finally {
      await client.close();
    }
  });

  test("heartbeat=1: an idle connection stays open for 3.5 s and can still open a channel", async () => {
    // amqp-client drops the socket ("Heartbeat timeout") after one heartbeat interval without
    // any traffic, and only answers heartbeats, so this needs the server to send them.
    const client = await connect(`${b.url}?heartbeat=1`);
    const errors: string[] = [];
    client.onerror = (err: AMQPError) => errors.push(err.message);
    let disconnected: string | undefined;
    client.ondisconnect = (err?: Error) => {
      disconnected = err?.message ?? "disconnected";
    };
    try {
      expect(client.heartbeat).toBe(1);
      await sleep(3500);
      expect(errors).toEqual([]);
      expect(disconnected).toBeUndefined();
      expect(client.closed).toBe(false);
      const ch = await withTimeout(client.channel(), 5000, "channel after idling");
      await ch.close();
    } finally {
      await client.close().catch(() => {});
    }
  }, 15_000);

  test("wrong password is refused promptly with ACCESS_REFUSED (403)", async () => {
    const err = await connectError(`amqp://guest:wrong@127.0.0.1:${b.port}`);
    expect(err.message).toMatch(/ACCESS_REFUSED/);
    expect(err.message).toMatch(/403/);
  });

  test("unknown vhost is refused with NOT_ALLOWED (530)", async () => {
    const err = await connectError(`${b.url}/no-such-vhost`);
    expect(err.message).toMatch(/NOT_ALLOWED/);
    expect(err.message).toMatch(/530/);
    expect(err.message).toMatch(/no-such-vhost/);
  });

  test("a client survives broker.stop(): it sees 320 CONNECTION_FORCED and is closed", async () => {
    const own = await startTestBroker();
    try {
      const client = await connect(own.url);
      const ch = await client.channel();
      const errors: string[] = [];
      client.onerror = (err: AMQPError) => errors.push(err.message);
      const disconnected = new Promise<string>((resolve) => {
        client.ondisconnect = (err?: Error) => resolve(err?.message ?? "");
      });
      await own.stop();
      const why = await withTimeout(disconnected, 5000, "ondisconnect after broker.stop()");
      expect(why).toMatch(/CONNECTION_FORCED/);
      expect(why).toMatch(/320/);
      expect(errors.some((e) => e.includes("320"))).toBe(true);
      expect(ch.closed).toBe(true);
      // Further use fails fast instead of hanging.
      await expect(withTimeout(client.channel(), 2000, "channel on a closed client")).rejects.toThrow(/closed/i);
    } finally {
      await own.stop();
    }
  });
});

describe("@cloudamqp/amqp-client with a custom default user", () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ defaultUser: "admin", defaultPass: "s3cret" });
  });
  afterAll(async () => {
    await b.stop();
  });

  test("the configured default user can log in", async () => {
    const client = await connect(`amqp://admin:s3cret@127.0.0.1:${b.port}`);
    const ch = await client.channel();
    await ch.close();
    await client.close();
  });

  test("guest is refused", async () => {
    const err = await connectError(`amqp://guest:guest@127.0.0.1:${b.port}`);
    expect(err.message).toMatch(/ACCESS_REFUSED/);
  });
});
