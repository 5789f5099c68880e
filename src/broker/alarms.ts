// Resource alarms as RabbitMQ raises them: memory above the high watermark, or free disk below
// the limit. While any alarm is set, connections that publish are blocked (connection.ts).
import { hostname } from "node:os";
import type { Logger } from "../log.ts";
import { freeDiskBytes, memoryLimit, residentMemory } from "../runtime/system.ts";
import { every, type Timer } from "../runtime/timers.ts";

export type AlarmResource = "memory" | "disk";

export interface AlarmOptions {
  /** ≤ 1: a fraction of the memory limit; > 1: bytes. */
  memoryHighWatermark: number;
  /** Bytes of free disk below which the disk alarm is set. */
  diskFreeLimit: number;
  dataDir: string;
}

/** Readings, replaceable in tests. */
export interface AlarmProbes {
  memoryUsed(): number;
  memoryLimit(): number;
  diskFree(dir: string): number;
}

const SYSTEM: AlarmProbes = { memoryUsed: residentMemory, memoryLimit: () => memoryLimit(), diskFree: freeDiskBytes };

export class Alarms {
  private readonly active = new Set<AlarmResource>();
  private readonly listeners: ((active: ReadonlySet<AlarmResource>) => void)[] = [];
  private timer: Timer | undefined;
  private readonly node = `warren@${hostname()}`;

  constructor(private readonly options: AlarmOptions, private readonly log: Logger, private readonly probes: AlarmProbes = SYSTEM) {}

  get memoryThreshold(): number {
    const w = this.options.memoryHighWatermark;
    return w <= 1 ? Math.floor(w * this.probes.memoryLimit()) : w;
  }

  /** The alarms set now (empty when none). */
  get current(): ReadonlySet<AlarmResource> {
    return this.active;
  }

  /** Called with the set of active alarms whenever it changes. */
  onChange(listener: (active: ReadonlySet<AlarmResource>) => void): void {
    this.listeners.push(listener);
  }

  /** As rabbitmqctl set_vm_memory_high_watermark: takes effect at once. */
  setMemoryHighWatermark(value: number): void {
    this.options.memoryHighWatermark = value;
    this.check();
  }

  /** As rabbitmqctl set_disk_free_limit. */
  setDiskFreeLimit(bytes: number): void {
    this.options.diskFreeLimit = bytes;
    this.check();
  }

  start(intervalMs = 1000): void {
    this.log.info(`Memory high watermark set to ${mb(this.memoryThreshold)} MiB; disk free limit set to ${mb(this.options.diskFreeLimit)} MiB`);
    this.check();
    this.timer = every(intervalMs, () => this.check());
  }

  stop(): void {
    this.timer?.cancel();
  }

  check(): void {
    let changed = this.update("memory", this.probes.memoryUsed() > this.memoryThreshold);
    let diskLow = false;
    try {
      diskLow = this.probes.diskFree(this.options.dataDir) < this.options.diskFreeLimit;
    } catch {
      // data dir unreadable: leave the disk alarm as it is
      diskLow = this.active.has("disk");
    }
    changed = this.update("disk", diskLow) || changed;
    if (changed) for (const listener of this.listeners) listener(this.active);
  }

  private update(resource: AlarmResource, on: boolean): boolean {
    if (on === this.active.has(resource)) return false;
    if (on) {
      this.active.add(resource);
      this.log.warning(`${resource} resource limit alarm set on node ${this.node}. Publishers will be blocked until this alarm clears`);
    } else {
      this.active.delete(resource);
      this.log.warning(`${resource} resource limit alarm cleared on node ${this.node}`);
    }
    return true;
  }
}

/** The connection.blocked reason, as RabbitMQ words it: "low on memory", "low on memory & disk". */
export function blockedReason(active: ReadonlySet<AlarmResource>): string {
  return `low on ${[...active].sort((a, b) => (a === "memory" ? -1 : b === "memory" ? 1 : 0)).join(" & ")}`;
}

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(0);
}
