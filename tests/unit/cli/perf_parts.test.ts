// The parts of `warren perf` that need no broker: the latency histogram, AMQP URIs, options.
import { describe, expect, test } from "bun:test";
import { Histogram } from "../../../src/cli/perf/histogram.ts";
import { parseAmqpUri } from "../../../src/cli/perf/uri.ts";
import { parsePerfArgs, parseQueueArgs, type PerfOptions } from "../../../src/cli/perf/options.ts";
import { PerfUsageError } from "../../../src/cli/perf/errors.ts";

describe("latency histogram", () => {
  test("percentiles of 1..10000 µs are within 3 % of the exact ones", () => {
    const h = new Histogram();
    for (let v = 1; v <= 10_000; v++) h.record(v);
    const s = h.summary()!;
    expect(s.count).toBe(10_000);
    expect(s.min).toBe(1);
    expect(s.max).toBe(10_000);
    expect(s.mean).toBeCloseTo(5000.5, 1);
    for (const [got, exact] of [[s.p50, 5000], [s.p90, 9000], [s.p99, 9900], [s.p999, 9990]] as const) {
      expect(Math.abs(got - exact) / exact).toBeLessThan(0.03);
    }
  });

  test("values below 64 µs are exact, the maximum is never exceeded", () => {
    const h = new Histogram();
    for (const v of [3, 3, 3, 7]) h.record(v);
    expect(h.summary()!.p50).toBe(3);
    expect(h.summary()!.p99).toBe(7);
    expect(h.summary()!.max).toBe(7);
  });

  test("an empty histogram has no summary; reset empties it", () => {
    const h = new Histogram();
    expect(h.summary()).toBeUndefined();
    h.record(100);
    h.reset();
    expect(h.summary()).toBeUndefined();
  });

  test("percentileSince covers only what came after the snapshot", () => {
    const h = new Histogram();
    for (let i = 0; i < 1000; i++) h.record(10);
    const before = h.snapshot();
    for (let i = 0; i < 10; i++) h.record(5000);
    expect(h.percentileSince(before, 50)!).toBeGreaterThan(4800);
    expect(h.percentileSince(h.snapshot(), 50)).toBeUndefined();
  });

  test("negative and huge values are clamped, not lost", () => {
    const h = new Histogram();
    h.record(-5);
    h.record(1e12);
    expect(h.summary()!.count).toBe(2);
  });
});

describe("AMQP URIs", () => {
  test("all parts, percent-decoded", () => {
    const u = parseAmqpUri("amqp://us%40er:p%3Ass@broker.example:5673/my%2Fvhost");
    expect(u).toMatchObject({ tls: false, hostname: "broker.example", port: 5673, username: "us@er", password: "p:ss", vhost: "my/vhost" });
    expect(u.display).not.toContain("p%3Ass");
  });

  test("defaults: guest/guest, port 5672 (5671 for amqps), vhost /", () => {
    expect(parseAmqpUri("amqp://localhost")).toMatchObject({ port: 5672, username: "guest", password: "guest", vhost: "/" });
    expect(parseAmqpUri("amqps://h/")).toMatchObject({ tls: true, port: 5671, vhost: "/" });
    expect(parseAmqpUri("amqp://h/%2f").vhost).toBe("/");
    expect(parseAmqpUri("amqp://[::1]:5680").hostname).toBe("::1");
  });

  test("other schemes and garbage are usage errors", () => {
    expect(() => parseAmqpUri("http://h")).toThrow(PerfUsageError);
    expect(() => parseAmqpUri("not a uri")).toThrow(/not a valid URI/);
  });
});

describe("perf options", () => {
  const parse = (...argv: string[]) => parsePerfArgs(argv) as PerfOptions;

  test("no scenario or --help asks for the usage", () => {
    expect(parsePerfArgs([])).toBe("help");
    expect(parsePerfArgs(["throughput", "--help"])).toBe("help");
  });

  test("throughput defaults are time-bounded and closed-loop", () => {
    const o = parse("throughput");
    expect(o).toMatchObject({
      producers: 1,
      consumers: 1,
      size: 16,
      confirm: 0,
      prefetch: 256,
      autoAck: false,
      multiAck: 128,
      seconds: 10,
      warmup: 1,
    });
    expect(o.maxBacklog).toBe(2000);
    expect(o.maxSeconds).toBeGreaterThan(o.seconds);
  });

  test("backlog confirms by default; an explicit value wins", () => {
    expect(parse("backlog").confirm).toBe(256);
    expect(parse("backlog", "--confirm", "0").confirm).toBe(0);
  });

  test("multi-ack is capped at the prefetch, routing keys split on commas", () => {
    const o = parse("throughput", "--prefetch", "10", "--multi-ack", "50", "-k", "a,b", "-k", "c");
    expect(o.multiAck).toBe(10);
    expect(o.routingKeys).toEqual(["a", "b", "c"]);
  });

  test("bad values name the option and the value", () => {
    expect(() => parse("throughput", "--size=-1")).toThrow('Cannot use --size "-1"');
    expect(() => parse("throughput", "--producers", "1.5")).toThrow("whole number");
    expect(() => parse("throughput", "--ack", "sometimes")).toThrow('--ack "sometimes"');
    expect(() => parse("warp")).toThrow('Unknown scenario "warp"');
    expect(() => parse("throughput", "--no-such-option")).toThrow(PerfUsageError);
    expect(() => parse("throughput", "--producers", "0", "--consumers", "0")).toThrow("Nothing to do");
  });

  test("queue arguments: numbers are integers, true/false booleans, else strings", () => {
    expect(parseQueueArgs(["x-max-length=10", "x-single-active-consumer=true", "x-queue-type=quorum"])).toEqual({
      "x-max-length": 10,
      "x-single-active-consumer": true,
      "x-queue-type": "quorum",
    });
    expect(() => parseQueueArgs(["novalue"])).toThrow("key=value");
  });
});
