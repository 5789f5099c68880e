// The MQTT plugin's pure parts: topic names and filters, their AMQP mapping, MQTT matching, and
// the packet codec (what the server encodes decodes back; the splitter cuts any chunking).
import { describe, expect, test } from "bun:test";
import {
  bindingKeyToFilter,
  filterToBindingKey,
  routingKeyToTopic,
  topicMatches,
  topicToRoutingKey,
  validTopicFilter,
  validTopicName,
} from "../../../plugins/mqtt/topic.ts";
import { decodePacket, MqttError, PacketType, type Publish, Reason } from "../../../plugins/mqtt/decode.ts";
import { ackPacket, publishPacket } from "../../../plugins/mqtt/encode.ts";
import { toAmqp } from "../../../plugins/mqtt/bridge.ts";
import { decodeProperties } from "../../../src/amqp/spec/properties.gen.ts";
import { Reader } from "../../../src/amqp/reader.ts";
import { PacketSplitter } from "../../../plugins/mqtt/packet_splitter.ts";

describe("topics", () => {
  test("/ and . swap between MQTT topics and AMQP routing keys, both ways", () => {
    expect(topicToRoutingKey("a/b.c/d")).toBe("a.b/c.d");
    expect(routingKeyToTopic("a.b/c.d")).toBe("a/b.c/d");
    expect(routingKeyToTopic(topicToRoutingKey("/x//y.z/"))).toBe("/x//y.z/");
  });

  test("filters: + becomes *, # stays, dots inside a level become /", () => {
    expect(filterToBindingKey("+/b.c/#")).toBe("*.b/c.#");
    expect(bindingKeyToFilter("*.b/c.#")).toBe("+/b.c/#");
  });

  test("valid names and filters", () => {
    expect(validTopicName("a/b")).toBe(true);
    expect([validTopicName(""), validTopicName("a/+"), validTopicName("#")]).toEqual([false, false, false]);
    expect(["#", "+", "a/+/b", "a/#", "/+/"].every(validTopicFilter)).toBe(true);
    expect(["", "a#", "a/#/b", "a+/b", "#/a"].some(validTopicFilter)).toBe(false);
  });

  test("matching: + one level, # the rest and the parent, $-topics not by a leading wildcard", () => {
    expect(topicMatches("a/+/c", "a/b/c")).toBe(true);
    expect(topicMatches("a/+/c", "a/b/d")).toBe(false);
    expect(topicMatches("a/#", "a")).toBe(true);
    expect(topicMatches("a/#", "a/b/c")).toBe(true);
    expect(topicMatches("+", "a/b")).toBe(false);
    expect(topicMatches("#", "$SYS/x")).toBe(false);
    expect(topicMatches("+/x", "$SYS/x")).toBe(false);
    expect(topicMatches("$SYS/#", "$SYS/x")).toBe(true);
  });
});

test("topicMatches agrees with matching level by level on split strings, for random filters and topics", () => {
  // The rules as written (4.7), on split levels: the reference the in-place matcher is held to.
  const reference = (filter: string, topic: string) => {
    if (topic.startsWith("$") && (filter.startsWith("+") || filter.startsWith("#"))) return false;
    const f = filter.split("/");
    const t = topic.split("/");
    for (let i = 0; i < f.length; i++) {
      if (f[i] === "#") return true;
      if (i >= t.length) return false;
      if (f[i] !== "+" && f[i] !== t[i]) return false;
    }
    return f.length === t.length;
  };
  let seed = 11;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const pick = (chars: string, max: number) =>
    Array.from({ length: Math.floor(next() * max) }, () => chars[Math.floor(next() * chars.length)]).join("");
  let matched = 0;
  for (let i = 0; i < 100_000; i++) {
    const topic = pick("ab/$", 7);
    const filter = next() < 0.3 ? topic : pick("ab/+#$", 7);
    const expected = reference(filter, topic);
    if (topicMatches(filter, topic) !== expected) throw new Error(`topicMatches("${filter}", "${topic}") should be ${expected}`);
    if (expected) matched++;
  }
  expect(matched).toBeGreaterThan(10_000); // both outcomes were exercised
});

describe("codec", () => {
  const roundTrip = (v5: boolean, p: Omit<Publish, "type">) => {
    const bytes = publishPacket(v5, p);
    const packets: Publish[] = [];
    const splitter = new PacketSplitter(1 << 20);
    // One byte at a time: the splitter keeps what it cannot finish.
    for (const b of bytes) {
      splitter.push(new Uint8Array([b]), (first, body) => packets.push(decodePacket(first, body, v5 ? 5 : 4) as Publish));
    }
    return packets;
  };

  test("a PUBLISH the server encodes decodes back, 3.1.1 and 5.0, whatever the chunking", () => {
    const payload = new Uint8Array(300).fill(7);
    const props = {
      contentType: "text/plain",
      userProperties: [["a", "b"], ["a", "c"]] as [string, string][],
      messageExpiry: 9,
      correlationData: new Uint8Array([0, 1]),
    };
    const [p5] = roundTrip(true, { topic: "t/ü", qos: 1, dup: true, retain: true, packetId: 513, properties: props, payload });
    expect(p5).toMatchObject({ type: 3, topic: "t/ü", qos: 1, dup: true, retain: true, packetId: 513, properties: props });
    expect(p5!.payload).toEqual(payload);
    const [p4] = roundTrip(false, { topic: "x", qos: 0, dup: false, retain: false, packetId: 0, properties: {}, payload });
    expect(p4).toMatchObject({ topic: "x", qos: 0, properties: {} });
  });

  test("a packet larger than the limit is refused as soon as its length is known", () => {
    const splitter = new PacketSplitter(100);
    expect(() => splitter.push(new Uint8Array([0x30, 0xe8, 0x07]), () => {})).toThrow(MqttError);
  });

  test("malformed: string running past the packet, bad UTF-8, U+0000", () => {
    const reason = (body: number[]) => {
      try {
        decodePacket(0x30, new Uint8Array(body), 4);
        return 0;
      } catch (err) {
        return (err as MqttError).reason;
      }
    };
    expect(reason([0, 9, 0x61])).toBe(Reason.malformed);
    expect(reason([0, 2, 0xc3, 0x28])).toBe(Reason.malformed);
    expect(reason([0, 1, 0])).toBe(Reason.malformed);
  });
});

describe("the publish path's shortcuts", () => {
  const decodeOne = (bytes: Uint8Array, level: number) => {
    const packets: Publish[] = [];
    new PacketSplitter(1 << 24).push(bytes, (first, body) => packets.push(decodePacket(first, body, level) as Publish));
    expect(packets.length).toBe(1);
    return packets[0]!;
  };

  test("PUBLISH written in one piece: remaining lengths across every variable-length boundary decode back", () => {
    // remaining = 2 + topic + packet id (QoS 1) + property length (5.0) + payload
    for (const remaining of [127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
      for (const v5 of [false, true]) {
        for (const qos of [0, 1]) {
          const topic = "a/ü";
          const payloadSize = remaining - 2 - new TextEncoder().encode(topic).length - (qos > 0 ? 2 : 0) - (v5 ? 1 : 0);
          const payload = new Uint8Array(payloadSize).map((_, i) => i & 0xff);
          const bytes = publishPacket(v5, { topic, qos, dup: qos > 0, retain: true, packetId: 0x1234, properties: {}, payload });
          const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
          expect(bytes.length).toBe(1 + lengthBytes + remaining);
          expect(bytes[0]).toBe(0x30 | (qos > 0 ? 8 : 0) | (qos << 1) | 1);
          const p = decodeOne(bytes, v5 ? 5 : 4);
          expect(p).toMatchObject({ topic, qos, dup: qos > 0, retain: true, packetId: qos > 0 ? 0x1234 : 0, properties: {} });
          expect(p.payload).toEqual(payload);
        }
      }
    }
  });

  test("PUBLISH bytes of a small 3.1.1 packet, exactly", () => {
    const bytes = publishPacket(false, {
      topic: "t",
      qos: 1,
      dup: false,
      retain: false,
      packetId: 258,
      properties: {},
      payload: new Uint8Array([9]),
    });
    expect([...bytes]).toEqual([0x32, 6, 0, 1, 0x74, 1, 2, 9]);
    // 5.0 without properties: a zero property length after the topic.
    const v5 = publishPacket(true, {
      topic: "t",
      qos: 0,
      dup: false,
      retain: false,
      packetId: 0,
      properties: {},
      payload: new Uint8Array([9]),
    });
    expect([...v5]).toEqual([0x30, 5, 0, 1, 0x74, 0, 9]);
  });

  test("acks: the usual 4 bytes; 5.0 with a reason code or reason string through the builder", () => {
    expect([...ackPacket(PacketType.puback, false, 0x0102, 0x80)]).toEqual([0x40, 2, 1, 2]); // 3.1.1 has no reason code
    expect([...ackPacket(PacketType.puback, true, 0x0102)]).toEqual([0x40, 2, 1, 2]);
    expect([...ackPacket(PacketType.pubrel, false, 7)]).toEqual([0x62, 2, 0, 7]);
    expect([...ackPacket(PacketType.puback, true, 0x0102, 0x10)]).toEqual([0x40, 3, 1, 2, 0x10]); // no properties: left out
    expect([...ackPacket(PacketType.puback, true, 1, 0x87, "no")]).toEqual([0x40, 9, 0, 1, 0x87, 5, 0x1f, 0, 2, 0x6e, 0x6f]);
  });

  test("a publish without 5.0 properties gets the same property list as one built field by field, shared and frozen", () => {
    for (const qos of [0, 1]) {
      for (const dup of [false, true]) {
        for (const retain of [false, true]) {
          const m = toAmqp("amq.topic", { topic: "s/1", qos, dup, retain, payload: new Uint8Array(1), properties: {} });
          const expected: Record<string, unknown> = { "x-mqtt-publish-qos": qos, "x-mqtt-dup": dup };
          if (retain) expected["x-mqtt-retain"] = true;
          // What a consumer or the store sees is the encoded list: decode it afresh.
          const decoded = decodeProperties(new Reader(m.properties));
          expect(decoded.deliveryMode).toBe(qos > 0 ? 2 : 1);
          expect(Object.keys(decoded.headers!).sort()).toEqual(Object.keys(expected).sort());
          expect(Number(decoded.headers!["x-mqtt-publish-qos"]!.valueOf())).toBe(qos);
          expect(decoded.headers!["x-mqtt-dup"]).toBe(dup);
          expect(m.props.headers!["x-mqtt-dup"]).toBe(dup);
          expect(m.routingKey).toBe("s.1");
          expect(Object.isFrozen(m.props) && Object.isFrozen(m.props.headers)).toBe(true);
          const again = toAmqp("amq.topic", { topic: "s/2", qos, dup, retain, payload: new Uint8Array(1), properties: { topicAlias: 3 } });
          expect(again.properties).toBe(m.properties);
        }
      }
    }
    // A 5.0 property that maps to AMQP takes the full path.
    const typed = toAmqp("amq.topic", {
      topic: "s",
      qos: 1,
      dup: false,
      retain: false,
      payload: new Uint8Array(1),
      properties: { contentType: "text/plain" },
    });
    expect(typed.props.contentType).toBe("text/plain");
    expect(Object.isFrozen(typed.props)).toBe(false);
    expect(decodeProperties(new Reader(typed.properties)).contentType).toBe("text/plain");
  });

  test("topic swaps are kept, and still right past the cache's size", () => {
    for (let i = 0; i < 10_000; i++) expect(topicToRoutingKey(`d/${i}.x`)).toBe(`d.${i}/x`);
    expect(routingKeyToTopic("d.1/x")).toBe("d/1.x");
    expect(topicToRoutingKey("plain")).toBe("plain");
  });
});
