import { describe, expect, test } from "bun:test";
import { parseAmqpUri, withoutCredentials } from "../../../src/client/uri.ts";

describe("AMQP URI parsing (amqp_uri's rules)", () => {
  test("amqp://host means port 5672, vhost / and no credentials", () => {
    const u = parseAmqpUri("amqp://rabbit.example");
    expect(u).toMatchObject({
      direct: false,
      tls: false,
      host: "rabbit.example",
      port: 5672,
      vhost: "/",
      username: undefined,
      heartbeat: 10,
    });
  });

  test("amqps defaults to 5671; user, password and vhost are percent-decoded", () => {
    const u = parseAmqpUri("amqps://us%40er:p%3Ass@10.0.0.1:5999/%2fprod");
    expect(u).toMatchObject({ tls: true, host: "10.0.0.1", port: 5999, username: "us@er", password: "p:ss", vhost: "/prod" });
    expect(parseAmqpUri("amqps://h").port).toBe(5671);
  });

  test("a trailing slash means the empty vhost, %2f the default one", () => {
    expect(parseAmqpUri("amqp://h/").vhost).toBe("");
    expect(parseAmqpUri("amqp://h/%2f").vhost).toBe("/");
  });

  test("a URI without host is a direct connection to this broker", () => {
    expect(parseAmqpUri("amqp://")).toMatchObject({ direct: true, vhost: "/", username: undefined });
    expect(parseAmqpUri("amqp:///v1")).toMatchObject({ direct: true, vhost: "v1" });
    expect(parseAmqpUri("amqp://bob:pw@/v1")).toMatchObject({ direct: true, username: "bob", password: "pw", vhost: "v1" });
  });

  test("IPv6 hosts in brackets", () => {
    expect(parseAmqpUri("amqp://[::1]:5673")).toMatchObject({ host: "::1", port: 5673 });
  });

  test("RabbitMQ's query parameters are read", () => {
    const u = parseAmqpUri(
      "amqps://h?heartbeat=5&cacertfile=/ca.pem&certfile=/c.pem&keyfile=/k.pem&verify=verify_peer&server_name_indication=rabbit.internal&connection_timeout=2000&frame_max=8192&channel_max=10&auth_mechanism=external",
    );
    expect(u).toMatchObject({
      heartbeat: 5,
      cacertfile: "/ca.pem",
      certfile: "/c.pem",
      keyfile: "/k.pem",
      verify: "verify_peer",
      serverNameIndication: "rabbit.internal",
      connectionTimeoutMs: 2000,
      frameMax: 8192,
      channelMax: 10,
      authMechanism: "EXTERNAL",
    });
    expect(parseAmqpUri("amqps://h").verify).toBe("verify_none");
  });

  test("bad URIs are refused with what is wrong", () => {
    expect(() => parseAmqpUri("http://h")).toThrow("expected amqp:// or amqps://");
    expect(() => parseAmqpUri("amqp://h:99999")).toThrow("bad port");
    expect(() => parseAmqpUri("amqp://h:abc")).toThrow("bad port");
    expect(() => parseAmqpUri("amqp://h?heartbeat=x")).toThrow("heartbeat must be a non-negative integer");
    expect(() => parseAmqpUri("amqp://h?verify=maybe")).toThrow("verify must be verify_peer or verify_none");
    expect(() => parseAmqpUri("amqp://h/a/b")).toThrow("one path segment");
    expect(() => parseAmqpUri("amqps://")).toThrow("amqps:// needs a host");
    expect(() => parseAmqpUri("amqp://h/%zz")).toThrow("bad percent-encoding");
  });

  test("credentials are removed for display", () => {
    expect(withoutCredentials("amqp://u:p@h:5672/%2f")).toBe("amqp://h:5672/%2f");
    expect(withoutCredentials("amqp://h")).toBe("amqp://h");
    expect(withoutCredentials("amqp://")).toBe("amqp://");
  });
});
