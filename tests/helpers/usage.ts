// Shared pieces of the client-usage tests (tests/protocol/usage_*.test.ts): the broker they run
// against, a message inbox whose waits all time out, and the routing scenarios of the RabbitMQ
// tutorials with the exact outcome RabbitMQ gives.
import { startTestBroker, withTimeout } from "./broker.ts";

export interface UsageTarget {
  url: string;
  stop(): Promise<void>;
}

/**
 * A fresh in-process Warren; or, when USAGE_TESTS_URL is set by hand (e.g. to the reference
 * RabbitMQ's URL), that broker, to check that the tests' expectations are RabbitMQ's.
 */
export async function usageTarget(): Promise<UsageTarget> {
  const external = process.env.USAGE_TESTS_URL;
  if (external) return { url: external, stop: async () => {} };
  const b = await startTestBroker();
  return { url: b.url, stop: () => b.stop() };
}

/** A name no other test (or earlier run against a shared broker) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
}

/** Collects items as they arrive; every wait rejects with a clear message after `ms`. */
export class Inbox<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<() => void>();

  push(item: T): void {
    this.items.push(item);
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves once `ready(items)` holds (checked now and after every push). */
  private when(ready: () => boolean, ms: number, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    let wake!: () => void;
    const done = new Promise<void>((resolve) => {
      wake = () => {
        if (ready()) resolve();
      };
      this.waiters.add(wake);
    });
    return withTimeout(done, ms, `${what} (have ${this.items.length})`).finally(() => this.waiters.delete(wake));
  }

  /** Waits for at least `n` items; returns all items so far. */
  async count(n: number, what: string, ms = 10_000): Promise<T[]> {
    await this.when(() => this.items.length >= n, ms, `waiting for ${n} × ${what}`);
    return this.items;
  }

  /** Waits for an item matching `last`; returns the items before it (the match is not included). */
  async until(last: (item: T) => boolean, what: string, ms = 10_000): Promise<T[]> {
    await this.when(() => this.items.some(last), ms, `waiting for ${what}`);
    return this.items.slice(0, this.items.findIndex(last));
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Body of the end marker: after a routing scenario's messages, the test publishes one SENTINEL
 * to each queue through the default exchange. A queue delivers in publish order, so when a
 * consumer sees the sentinel it has seen everything routed to its queue before it; no
 * "wait and see that nothing else comes".
 */
export const SENTINEL = "--end-of-scenario--";

/** Tutorial 4 (routing): a direct exchange, bindings per queue, and what each queue gets. */
export const DIRECT_SCENARIO = {
  bindings: { errors: ["error"], all: ["info", "warning", "error"] } as Record<string, string[]>,
  published: ["info", "error", "debug", "warning", "error", "info", "critical"],
  expected: {
    errors: ["error", "error"],
    all: ["info", "error", "warning", "error", "info"],
  } as Record<string, string[]>,
};

/**
 * Tutorial 5 (topics) plus the edges of `*` and `#`: `#` matches zero words, a key bound twice
 * to one queue delivers once, the empty key has zero words (so `*` misses it and `#` matches).
 */
export const TOPIC_SCENARIO = {
  bindings: {
    q1: ["*.orange.*"],
    q2: ["*.*.rabbit", "lazy.#"],
    q3: ["#.fox", "*"],
    q4: ["#"],
  } as Record<string, string[]>,
  published: [
    "quick.orange.rabbit",
    "lazy.orange.elephant",
    "quick.orange.fox",
    "lazy.brown.fox",
    "lazy.pink.rabbit",
    "quick.brown.fox",
    "orange",
    "quick.orange.new.rabbit",
    "lazy.orange.new.rabbit",
    "lazy",
    "fox",
    "",
    "quick.orange.male.rabbit",
  ],
  expected: {
    q1: ["quick.orange.rabbit", "lazy.orange.elephant", "quick.orange.fox"],
    q2: ["quick.orange.rabbit", "lazy.orange.elephant", "lazy.brown.fox", "lazy.pink.rabbit", "lazy.orange.new.rabbit", "lazy"],
    q3: ["quick.orange.fox", "lazy.brown.fox", "quick.brown.fox", "orange", "lazy", "fox"],
    q4: [
      "quick.orange.rabbit",
      "lazy.orange.elephant",
      "quick.orange.fox",
      "lazy.brown.fox",
      "lazy.pink.rabbit",
      "quick.brown.fox",
      "orange",
      "quick.orange.new.rabbit",
      "lazy.orange.new.rabbit",
      "lazy",
      "fox",
      "",
      "quick.orange.male.rabbit",
    ],
  } as Record<string, string[]>,
};

/** Headers exercising every type both clients write: nested tables, arrays, numbers, strings, booleans. */
export const RICH_HEADERS = {
  "x-string": "plain text",
  "x-unicode": "żółw 🐢 кролик",
  "x-small": 7,
  "x-negative": -300,
  "x-int": 123456,
  "x-long": 2 ** 40,
  "x-float": 1.5,
  "x-true": true,
  "x-false": false,
  "x-empty": "",
  "x-nested": { level: 1, name: "inner", deeper: { flag: true, list: [1, "two", false] } },
  "x-array": [1, "two", true, { k: "v" }, [3, 4], -2.25],
};

/** Deterministic pseudo-random bytes (so a failure is reproducible). */
export function patternBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Index of the first differing byte, or -1 when equal (a readable failure for 2 MiB bodies). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

export function fib(n: number): number {
  let a = 0;
  let b = 1;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}
