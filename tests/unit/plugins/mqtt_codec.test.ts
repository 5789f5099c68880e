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
import { decodePacket, MqttError, type Publish, Reason } from "../../../plugins/mqtt/decode.ts";
import { publishPacket } from "../../../plugins/mqtt/encode.ts";
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
