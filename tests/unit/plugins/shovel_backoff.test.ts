import { describe, expect, test } from "bun:test";
import { MAX_RECONNECT_DELAY_S, nextDelay } from "../../../plugins/shovel/link.ts";

describe("shovel reconnect backoff", () => {
  test("doubles from reconnect-delay up to the 5-minute cap", () => {
    const waits: number[] = [];
    for (let d = 5, i = 0; i < 10; i++, d = nextDelay(d)) waits.push(d);
    expect(waits).toEqual([5, 10, 20, 40, 80, 160, 300, 300, 300, 300]);
    expect(MAX_RECONNECT_DELAY_S).toBe(300);
  });

  test("a delay of 0 retries at once, then from 1 s; fractions double as they are", () => {
    expect([nextDelay(0), nextDelay(1), nextDelay(0.05)]).toEqual([1, 2, 0.1]);
  });
});
