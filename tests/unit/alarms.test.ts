import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AlarmProbes, Alarms, blockedReason, memoryThreshold } from "../../src/broker/alarms.ts";
import { createLogger } from "../../src/log.ts";
import { freeDiskBytes, memoryLimit } from "../../src/runtime/system.ts";

const GIB = 1024 ** 3;
const HOST = 16 * GIB;

/** A fake /sys/fs/cgroup holding these files. */
function withCgroup(files: Record<string, string>, run: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), "warren-cgroup-"));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(root, name, ".."), { recursive: true });
      writeFileSync(join(root, name), text);
    }
    run(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("memory limit comes from cgroup v2 memory.max when it is a number", () => {
  withCgroup({ "memory.max": "268435456\n" }, (root) => expect(memoryLimit(root, HOST)).toBe(268435456));
});

test("cgroup v2 memory.max wins over a v1 limit", () => {
  withCgroup({ "memory.max": "268435456\n", "memory/memory.limit_in_bytes": "536870912\n" }, (root) => {
    expect(memoryLimit(root, HOST)).toBe(268435456);
  });
});

test("cgroup v1 memory.limit_in_bytes is used when v2 is absent", () => {
  withCgroup({ "memory/memory.limit_in_bytes": "536870912" }, (root) => expect(memoryLimit(root, HOST)).toBe(536870912));
});

test("cgroup v2 'max' and v1's 'unlimited' value 9223372036854771712 mean the host's memory", () => {
  withCgroup({ "memory.max": "max\n" }, (root) => expect(memoryLimit(root, HOST)).toBe(HOST));
  withCgroup({ "memory/memory.limit_in_bytes": "9223372036854771712\n" }, (root) => expect(memoryLimit(root, HOST)).toBe(HOST));
  withCgroup({ "memory.max": "max\n", "memory/memory.limit_in_bytes": "9223372036854771712\n" }, (root) => {
    expect(memoryLimit(root, HOST)).toBe(HOST);
  });
});

test("no cgroup files, an empty file or garbage mean the host's memory", () => {
  withCgroup({}, (root) => expect(memoryLimit(root, HOST)).toBe(HOST));
  withCgroup({ "memory.max": "" }, (root) => expect(memoryLimit(root, HOST)).toBe(HOST));
  withCgroup({ "memory.max": "12 MB" }, (root) => expect(memoryLimit(root, HOST)).toBe(HOST));
  withCgroup({ "memory.max": "0" }, (root) => expect(memoryLimit(root, HOST)).toBe(HOST));
});

test("a cgroup limit above the host's memory is capped at the host's", () => {
  withCgroup({ "memory.max": String(64 * GIB) }, (root) => expect(memoryLimit(root, HOST)).toBe(HOST));
});

test("a watermark ≤ 1 is a fraction of the limit, a larger one is bytes", () => {
  expect(memoryThreshold(0.4, 1000)).toBe(400);
  expect(memoryThreshold(0.4, 512 * 1024 * 1024)).toBe(214748364); // a 512 MiB container: ~205 MiB
  expect(memoryThreshold(1, 1000)).toBe(1000);
  expect(memoryThreshold(2, 1000)).toBe(2);
  expect(memoryThreshold(300_000_000, 1000)).toBe(300_000_000);
});

test("free disk space is read from the file system, or the nearest existing parent of a missing dir", () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-disk-"));
  try {
    expect(freeDiskBytes(dir)).toBeGreaterThan(0);
    expect(freeDiskBytes(join(dir, "not", "created", "yet"))).toBeGreaterThan(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Alarms over fake readings, with every log line kept. */
function harness(opts: { watermark?: number; diskLimit?: number } = {}) {
  const lines: string[] = [];
  const reading = { used: 100, limit: 1000, free: 10_000 as number | Error };
  const probes: AlarmProbes = {
    memoryUsed: () => reading.used,
    memoryLimit: () => reading.limit,
    diskFree: () => {
      if (reading.free instanceof Error) throw reading.free;
      return reading.free;
    },
  };
  const alarms = new Alarms(
    { memoryHighWatermark: opts.watermark ?? 0.4, diskFreeLimit: opts.diskLimit ?? 1000, dataDir: "/data", node: "warren@edge1" },
    createLogger("debug", (l) => lines.push(l.replace(/^\S+ \S+ /, "").trimEnd())),
    probes,
  );
  const seen: string[] = [];
  alarms.onChange((a) => seen.push([...a].sort().join("+") || "none"));
  return { alarms, lines, reading, seen };
}

test("alarms are set and cleared once per change, listeners see each new set", () => {
  const { alarms, reading, seen } = harness();
  alarms.check();
  expect(seen).toEqual([]); // nothing changed: nobody is told
  reading.used = 401;
  alarms.check();
  alarms.check();
  reading.free = 999;
  alarms.check();
  alarms.check();
  reading.used = 400; // at the watermark is not above it
  alarms.check();
  reading.free = 1000; // at the limit is not below it
  alarms.check();
  expect(seen).toEqual(["memory", "disk+memory", "disk", "none"]);
  expect(alarms.current.size).toBe(0);
});

test("alarm transitions are logged once each, in RabbitMQ's words", () => {
  const { alarms, lines, reading } = harness();
  reading.used = 401;
  alarms.check();
  alarms.check();
  reading.used = 10;
  alarms.check();
  alarms.check();
  reading.free = 5;
  alarms.check();
  alarms.check();
  reading.free = 5000;
  alarms.check();
  expect(lines).toEqual([
    "[info] vm_memory_high_watermark set. Memory used:401 allowed:400",
    "[warning] memory resource limit alarm set on node warren@edge1.\n\n" +
    "**********************************************************\n" +
    "*** Publishers will be blocked until this alarm clears ***\n" +
    "**********************************************************",
    "[info] vm_memory_high_watermark clear. Memory used:10 allowed:400",
    "[warning] memory resource limit alarm cleared on node warren@edge1",
    "[info] Free disk space is insufficient. Free bytes: 5. Limit: 1000",
    "[warning] disk resource limit alarm set on node warren@edge1.\n\n" +
    "**********************************************************\n" +
    "*** Publishers will be blocked until this alarm clears ***\n" +
    "**********************************************************",
    "[info] Free disk space is sufficient. Free bytes: 5000. Limit: 1000",
    "[warning] disk resource limit alarm cleared on node warren@edge1",
  ]);
});

test("start logs the limits as RabbitMQ does at boot and checks at once", () => {
  const { alarms, lines, reading } = harness({ diskLimit: 50_000_000 });
  reading.limit = 8 * GIB;
  reading.free = 100_000_000;
  reading.used = 4 * GIB; // above 0.4 of 8 GiB
  alarms.start();
  alarms.stop();
  expect(lines.slice(0, 3)).toEqual([
    "[info] Memory high watermark set to 3276 MiB (3435973836 bytes) of 8192 MiB (8589934592 bytes) total",
    "[info] Enabling free disk space monitoring",
    "[info] Disk free limit set to 50MB",
  ]);
  expect([...alarms.current]).toEqual(["memory"]);
});

test("changing the watermark or the disk limit at run time takes effect at once", () => {
  const { alarms, lines, seen } = harness();
  alarms.setMemoryHighWatermark(50); // 50 bytes < 100 used
  expect([...alarms.current]).toEqual(["memory"]);
  expect(lines[0]).toBe("[info] Memory high watermark set to 0 MiB (50 bytes) of 0 MiB (1000 bytes) total");
  alarms.setMemoryHighWatermark(0.5);
  alarms.setDiskFreeLimit(20_000_000);
  expect(lines).toContain("[info] Disk free limit set to 20MB");
  expect([...alarms.current]).toEqual(["disk"]);
  expect(seen).toEqual(["memory", "none", "disk"]);
});

test("an unreadable data dir leaves the disk alarm as it was and is reported once", () => {
  const { alarms, lines, reading } = harness();
  reading.free = 1;
  alarms.check();
  reading.free = new Error("EACCES: permission denied");
  alarms.check();
  alarms.check();
  expect([...alarms.current]).toEqual(["disk"]);
  expect(lines.filter((l) => l.includes("Cannot read free disk space"))).toEqual([
    '[warning] Cannot read free disk space of "/data": EACCES: permission denied',
  ]);
  reading.free = 5000;
  alarms.check();
  expect(alarms.current.size).toBe(0);
});

test("a node name that is not a plain Erlang atom is quoted, as RabbitMQ's ~p prints it", () => {
  const lines: string[] = [];
  const alarms = new Alarms(
    { memoryHighWatermark: 1, diskFreeLimit: 0, dataDir: "/", node: "warren@edge-1.example" },
    createLogger("warning", (l) => lines.push(l)),
    { memoryUsed: () => 2, memoryLimit: () => 1, diskFree: () => 1 },
  );
  alarms.check();
  expect(lines[0]).toContain("memory resource limit alarm set on node 'warren@edge-1.example'.\n");
});

test("the blocked reason reads as RabbitMQ's", () => {
  expect(blockedReason(new Set(["memory"]))).toBe("low on memory");
  expect(blockedReason(new Set(["disk"]))).toBe("low on disk");
  expect(blockedReason(new Set(["disk", "memory"]))).toBe("low on memory & disk");
});
