// The MQTT session's in-flight table against a Map model: ids count up cyclically and skip what
// is in flight, acks in any order, growth past the initial slots, wrap-around at 65535,
// removal by queue, and the order deliveries go back in when the connection closes.
import { expect, test } from "bun:test";
import { InflightTable } from "../../../plugins/mqtt/inflight.ts";

/** A small deterministic generator (the test must fail the same way every time). */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

test("random sends and acks, past the wrap-around at 65535, agree with a Map", () => {
  const table = new InflightTable<string>();
  const model = new Map<number, string>();
  const next = random(7);
  let lastId = 0;
  for (let i = 0; i < 200_000; i++) {
    const r = next();
    if (r < 0.52 && model.size < 1_000) {
      const id = table.allocate();
      expect(id).toBeGreaterThanOrEqual(1);
      expect(id).toBeLessThanOrEqual(65_535);
      expect(model.has(id)).toBe(false); // never an id in flight
      expect(id > lastId || lastId > 65_535 - 2_000).toBe(true); // counting up, or wrapped
      lastId = id;
      table.add(id, `m${i}`);
      model.set(id, `m${i}`);
    } else if (model.size > 0) {
      // Ack the oldest mostly (clients ack in order), sometimes any.
      const id = r < 0.95 ? model.keys().next().value! : [...model.keys()][Math.floor(next() * model.size)]!;
      expect(table.take(id)).toBe(model.get(id));
      model.delete(id);
      expect(table.take(id)).toBeUndefined(); // a second PUBACK for it is unknown
    }
    expect(table.size).toBe(model.size);
  }
  for (const [id, value] of model) {
    expect(table.has(id)).toBe(true);
    expect(table.take(id)).toBe(value);
  }
  expect(table.size).toBe(0);
});

test("ids count up from 1, skip the ones in flight (and those sharing their slot), and wrap after 65535", () => {
  const table = new InflightTable<number>();
  expect([table.allocate(), table.allocate(), table.allocate()]).toEqual([1, 2, 3]); // given, never added
  const stuck = table.allocate(); // 4: sent, never acked
  table.add(stuck, 4);
  let previous = stuck;
  let id = 0;
  for (let i = 0; i < 60_000; i++) { // 60,000 ids with 1 in 16 skipped: about 64,000, short of the wrap
    id = table.allocate();
    expect(id).toBeGreaterThan(previous);
    expect(id % 16).not.toBe(4); // the stuck id's slot (16 slots while 1 is in flight)
    previous = id;
    table.add(id, id);
    expect(table.take(id)).toBe(id);
  }
  while ((id = table.allocate()) > previous) {
    expect(id % 16).not.toBe(4);
    previous = id;
  }
  expect(previous).toBe(65_535);
  expect(id).toBe(1); // wrapped
  expect([table.allocate(), table.allocate(), table.allocate()]).toEqual([2, 3, 5]); // 4 is still in flight
  expect(table.take(4)).toBe(4);
});

test("unknown, zero and out-of-range ids are not in flight", () => {
  const table = new InflightTable<string>();
  const id = table.allocate();
  table.add(id, "a");
  for (const other of [0, -1, 65_536, id + 16, id + 1]) {
    expect(table.has(other)).toBe(false);
    expect(table.take(other)).toBeUndefined();
  }
  expect(table.size).toBe(1);
});

test("more in flight than the initial slots: it grows, and every entry is still found", () => {
  const table = new InflightTable<number>();
  const ids: number[] = [];
  for (let i = 0; i < 5_000; i++) {
    const id = table.allocate();
    table.add(id, i);
    ids.push(id);
  }
  expect(new Set(ids).size).toBe(5_000);
  ids.forEach((id, i) => expect(table.take(id)).toBe(i));
});

test("removeWhere drops one queue's deliveries; valuesInIdOrder gives the oldest first, across the wrap", () => {
  const table = new InflightTable<{ queue: string; n: number }>();
  for (let i = 0; i < 65_530; i++) table.take(((id) => (table.add(id, { queue: "x", n: -1 }), id))(table.allocate()));
  const sent: number[] = [];
  for (let n = 0; n < 12; n++) {
    const id = table.allocate(); // 65531..65535, then 1..7
    sent.push(id);
    table.add(id, { queue: n % 3 === 0 ? "a" : "b", n });
  }
  expect(sent.slice(0, 6)).toEqual([65_531, 65_532, 65_533, 65_534, 65_535, 1]);
  expect(table.valuesInIdOrder().map((d) => d.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  table.removeWhere((d) => d.queue === "a");
  expect(table.size).toBe(8);
  expect(table.valuesInIdOrder().map((d) => d.n)).toEqual([1, 2, 4, 5, 7, 8, 10, 11]);
  table.clear();
  expect(table.size).toBe(0);
  expect(table.valuesInIdOrder()).toEqual([]);
});
