// The busy-wait window: a socket read opens it, the loop polls while it is open and stops once
// no read came for the window's length; with several requests the widest applies until released.
import { afterEach, expect, test } from "bun:test";
import { busyWaiting, noteSocketRead, requestBusyWait } from "../../../src/runtime/busy_wait.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const releases: (() => void)[] = [];
const request = (us: number) => {
  const release = requestBusyWait(us);
  releases.push(release);
  return release;
};

afterEach(async () => {
  for (const release of releases.splice(0)) release();
  while (busyWaiting()) await sleep(1);
});

test("off until requested: a read starts no polling", () => {
  noteSocketRead();
  expect(busyWaiting()).toBe(false);
});

test("a read opens the window; the polling ends once no read came for the window's length", async () => {
  request(500_000); // 0.5 s: wide, so a busy machine's slow timers stay inside it
  noteSocketRead();
  expect(busyWaiting()).toBe(true);
  await sleep(1);
  expect(busyWaiting()).toBe(true); // still inside the window
  while (busyWaiting()) await sleep(1); // and it ends (the test's timeout says if not)
});

test("each read moves the window's end: reads closer together than the window keep it polling", async () => {
  request(1_000_000); // 1 s
  noteSocketRead();
  for (let i = 0; i < 5; i++) {
    await sleep(5);
    expect(busyWaiting()).toBe(true);
    noteSocketRead();
  }
  while (busyWaiting()) await sleep(1);
});

test("the widest request applies; released, the next widest does, and with none left reads open nothing", async () => {
  const narrow = request(1_000);
  const wide = request(10_000_000); // 10 s
  noteSocketRead();
  await sleep(20);
  expect(busyWaiting()).toBe(true); // the 10 s window, not the 1 ms one
  wide();
  wide(); // twice is once
  noteSocketRead();
  await sleep(50);
  expect(busyWaiting()).toBe(false); // 1 ms now
  narrow();
  noteSocketRead();
  expect(busyWaiting()).toBe(false);
});

test("while polling, timers and immediates still run (the loop is not blocked)", async () => {
  request(5_000_000);
  noteSocketRead();
  let fired = 0;
  await new Promise<void>((resolve) => setTimeout(() => (fired++, resolve()), 2));
  await new Promise<void>((resolve) => setImmediate(() => (fired++, resolve())));
  expect(fired).toBe(2);
  expect(busyWaiting()).toBe(true);
});
