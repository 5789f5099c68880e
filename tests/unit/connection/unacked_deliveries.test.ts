// A channel's unacked deliveries (src/connection/unacked_deliveries.ts) against a plain model:
// random adds in tag order (with gaps, as auto-ack deliveries leave), single acks out of order,
// multiple acks, rolled-back acks put back at their place, and clears; many channels' worth of
// operations so that compaction and slot reuse are exercised.
import { expect, test } from "bun:test";
import { type Unacked, UnackedDeliveries } from "../../../src/connection/unacked_deliveries.ts";

function delivery(tag: number): Unacked {
  return { tag, entry: undefined as never, queue: undefined as never, consumer: null, at: tag };
}

/** A small deterministic generator (the test must not depend on Math.random). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test("matches a sorted model through 200,000 random operations", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = random(seed);
    const real = new UnackedDeliveries();
    const model = new Map<number, Unacked>();
    let nextTag = 0;
    for (let step = 0; step < 10_000; step++) {
      const r = rnd();
      if (r < 0.5) {
        nextTag += 1 + Math.floor(rnd() * 3); // gaps: deliveries without ack share the tag sequence
        const u = delivery(nextTag);
        real.add(u);
        model.set(u.tag, u);
      } else if (r < 0.75) {
        const tag = 1 + Math.floor(rnd() * nextTag);
        expect(real.delete(tag)).toBe(model.get(tag));
        model.delete(tag);
      } else if (r < 0.93) {
        const upTo = Math.floor(rnd() * (nextTag + 1));
        const taken: number[] = [];
        for (let u = real.shiftUpTo(upTo); u !== undefined; u = real.shiftUpTo(upTo)) taken.push(u.tag);
        const expected = [...model.keys()].filter((t) => t <= upTo).sort((a, b) => a - b);
        expect(taken).toEqual(expected);
        for (const t of expected) model.delete(t);
      } else if (r < 0.99) {
        // A rolled-back transaction: settled tags come back, each at its place (few, or many at once).
        const count = rnd() < 0.8 ? 2 : 100;
        const back: Unacked[] = [];
        for (let i = 0; i < count; i++) {
          const tag = 1 + Math.floor(rnd() * nextTag);
          if (model.has(tag)) continue;
          const u = delivery(tag);
          back.push(u);
          model.set(tag, u);
        }
        real.addAll(back);
      } else {
        real.clear();
        model.clear();
      }
      expect(real.size).toBe(model.size);
      const sorted = [...model.keys()].sort((a, b) => a - b);
      expect(real.oldest()?.tag).toBe(sorted[0]);
      if (step % 97 === 0) expect([...real.values()].map((u) => u.tag)).toEqual(sorted);
      const probe = 1 + Math.floor(rnd() * (nextTag + 1));
      expect(real.get(probe)).toBe(model.get(probe));
    }
  }
});

test("a multiple ack leaves deliveries added while it runs (tags past the bound)", () => {
  const u = new UnackedDeliveries();
  for (let tag = 1; tag <= 5; tag++) u.add(delivery(tag));
  const taken: number[] = [];
  for (let d = u.shiftUpTo(5); d !== undefined; d = u.shiftUpTo(5)) {
    taken.push(d.tag);
    if (d.tag === 2) u.add(delivery(6)); // e.g. a dead-lettered message delivered back to the channel
  }
  expect(taken).toEqual([1, 2, 3, 4, 5]);
  expect([...u.values()].map((d) => d.tag)).toEqual([6]);
});

test("a channel that held many deliveries gives the slots back once all are settled", () => {
  const u = new UnackedDeliveries();
  for (let tag = 1; tag <= 100_000; tag++) u.add(delivery(tag));
  for (let tag = 100_000; tag >= 1; tag -= 2) u.delete(tag); // out of order: compaction keeps up
  expect(u.size).toBe(50_000);
  expect(u.oldest()?.tag).toBe(1);
  for (let d = u.shiftUpTo(Infinity); d !== undefined; d = u.shiftUpTo(Infinity));
  expect(u.size).toBe(0);
  u.add(delivery(100_001));
  expect([...u.values()].map((d) => d.tag)).toEqual([100_001]);
});
