import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { Alarms, blockedReason } from "../../src/broker/alarms.ts";
import { createLogger } from "../../src/log.ts";
import { memoryLimit } from "../../src/runtime/system.ts";

function cgroup(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "warren-cgroup-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, ".."), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

test("memory limit comes from cgroup v2 memory.max when it is a number", () => {
  const root = cgroup({ "memory.max": "268435456\n" });
  expect(memoryLimit(root)).toBe(Math.min(268435456, totalmem()));
  rmSync(root, { recursive: true });
});

test("cgroup v2 'max' and v1's huge 'unlimited' value fall back to the host memory", () => {
  const v2 = cgroup({ "memory.max": "max\n" });
  const v1 = cgroup({ "memory/memory.limit_in_bytes": "9223372036854771712\n" });
  expect(memoryLimit(v2)).toBe(totalmem());
  expect(memoryLimit(v1)).toBe(totalmem());
  rmSync(v2, { recursive: true });
  rmSync(v1, { recursive: true });
});

test("cgroup v1 limit is used when v2 is absent", () => {
  const root = cgroup({ "memory/memory.limit_in_bytes": "536870912" });
  expect(memoryLimit(root)).toBe(Math.min(536870912, totalmem()));
  rmSync(root, { recursive: true });
});

test("a relative watermark is a fraction of the limit; alarms are logged once per change", () => {
  const lines: string[] = [];
  let used = 100;
  let free = 10_000;
  const alarms = new Alarms(
    { memoryHighWatermark: 0.4, diskFreeLimit: 1000, dataDir: "/" },
    createLogger("info", (l) => lines.push(l)),
    { memoryUsed: () => used, memoryLimit: () => 1000, diskFree: () => free },
  );
  const seen: string[] = [];
  alarms.onChange((a) => seen.push([...a].join("+") || "none"));
  expect(alarms.memoryThreshold).toBe(400);
  alarms.check();
  used = 401;
  alarms.check();
  alarms.check();
  free = 999;
  alarms.check();
  used = 10;
  free = 5000;
  alarms.check();
  expect(seen).toEqual(["memory", "memory+disk", "none"]);
  expect(lines.filter((l) => l.includes("alarm set")).length).toBe(2);
  expect(lines.filter((l) => l.includes("alarm cleared")).length).toBe(2);
});

test("the blocked reason reads as RabbitMQ's", () => {
  expect(blockedReason(new Set(["memory"]))).toBe("low on memory");
  expect(blockedReason(new Set(["disk", "memory"]))).toBe("low on memory & disk");
});
