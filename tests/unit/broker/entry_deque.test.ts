// EntryDeque against a sorted-array model: random pushes, shifts, requeues and purges on several
// deques at once (they share the empty requeued list and start without a ring).
import { expect, test } from "bun:test";
import { EntryDeque } from "../../../src/broker/entry_deque.ts";
import type { QueueEntry } from "../../../src/broker/queue_entry.ts";
import { Message } from "../../../src/broker/message.ts";

function entry(seq: number, size: number): QueueEntry {
  const message = new Message("", "k", new Uint8Array(0), new Uint8Array(size));
  return { message, seq, redelivered: false, persisted: false, expiresAt: 0 };
}

/** A deterministic generator, so a failure repeats. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

test("several deques behave as sorted lists under random push, shift, requeue and purge", () => {
  const rand = random(7);
  const deques = [0, 1, 2, 3].map(() => ({ deque: new EntryDeque(), model: [] as QueueEntry[], nextSeq: 0 }));
  const taken = deques.map(() => [] as QueueEntry[]);
  for (let step = 0; step < 40_000; step++) {
    const i = Math.floor(rand() * deques.length);
    const d = deques[i]!;
    const r = rand();
    if (r < 0.45) {
      const e = entry(d.nextSeq++, Math.floor(rand() * 100));
      d.deque.push(e);
      d.model.push(e);
    } else if (r < 0.8) {
      const got = d.deque.shift();
      const want = d.model.shift();
      expect(got).toBe(want);
      if (got) taken[i]!.push(got);
    } else if (r < 0.995) {
      // Requeue something taken earlier: it goes back in seq order, in front of newer entries.
      const list = taken[i]!;
      if (list.length === 0) continue;
      const e = list.splice(Math.floor(rand() * list.length), 1)[0]!;
      d.deque.requeue(e);
      const at = d.model.findIndex((m) => m.seq > e.seq);
      d.model.splice(at === -1 ? d.model.length : at, 0, e);
    } else {
      expect(d.deque.purge()).toBe(d.model.length);
      d.model = [];
      taken[i] = [];
    }
    expect(d.deque.length).toBe(d.model.length);
    expect(d.deque.peek()).toBe(d.model[0]);
    expect(d.deque.bytes).toBe(d.model.reduce((sum, e) => sum + e.message.bodySize, 0));
  }
  for (const d of deques) {
    for (const want of d.model) expect(d.deque.shift()).toBe(want);
    expect(d.deque.shift()).toBeUndefined();
  }
});

test("a new deque holds nothing until its first entry, and takes many", () => {
  const deque = new EntryDeque();
  expect(deque.length).toBe(0);
  expect(deque.peek()).toBeUndefined();
  expect(deque.shift()).toBeUndefined();
  for (let seq = 0; seq < 1000; seq++) deque.push(entry(seq, 1));
  for (let seq = 0; seq < 1000; seq++) expect(deque.shift()!.seq).toBe(seq);
});
