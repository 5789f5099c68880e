// Resource alarms as RabbitMQ raises them (vm_memory_monitor, rabbit_disk_monitor, rabbit_alarm):
// memory above the high watermark, or free disk below the limit. While any alarm is set,
// connections that publish are blocked (connection.ts); the log says so in RabbitMQ's words.
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
  /** The node name in log lines and the management API. */
  node: string;
  /**
   * The store's needs: free space it must keep beyond the limit (WAL, disk reserve), and whether
   * a write found the disk full (docs/storage.md, issue 23).
   */
  store?: () => { headroomBytes: number; full: boolean };
}

/** Readings, replaceable in tests. */
export interface AlarmProbes {
  memoryUsed(): number;
  memoryLimit(): number;
  diskFree(dir: string): number;
}

const SYSTEM: AlarmProbes = { memoryUsed: residentMemory, memoryLimit: () => memoryLimit(), diskFree: freeDiskBytes };

const MIB = 1024 * 1024;
const STARS = "**********************************************************";

export class Alarms {
  private readonly active = new Set<AlarmResource>();
  private readonly listeners: ((active: ReadonlySet<AlarmResource>) => void)[] = [];
  private timer: Timer | undefined;
  private diskUnreadable = false;
  readonly node: string;

  constructor(private readonly options: AlarmOptions, private readonly log: Logger, private readonly probes: AlarmProbes = SYSTEM) {
    this.node = options.node;
  }

  /** Bytes of resident memory above which the memory alarm is set. */
  get memoryThreshold(): number {
    return memoryThreshold(this.options.memoryHighWatermark, this.probes.memoryLimit());
  }

  /** The memory the watermark is a fraction of (the machine's, or the cgroup limit). */
  get memoryLimit(): number {
    return this.probes.memoryLimit();
  }

  get diskFreeLimit(): number {
    return this.options.diskFreeLimit;
  }

  /** The alarms set now (empty when none). */
  get current(): ReadonlySet<AlarmResource> {
    return this.active;
  }

  /** Called with the set of active alarms whenever it changes. */
  onChange(listener: (active: ReadonlySet<AlarmResource>) => void): void {
    this.listeners.push(listener);
  }

  /** As rabbitmqctl set_vm_memory_high_watermark: logged, and takes effect at once. */
  setMemoryHighWatermark(value: number): void {
    this.options.memoryHighWatermark = value;
    this.logMemoryLimit();
    this.check();
  }

  /** As rabbitmqctl set_disk_free_limit: logged, and takes effect at once. */
  setDiskFreeLimit(bytes: number): void {
    this.options.diskFreeLimit = bytes;
    this.logDiskLimit();
    this.check();
  }

  /** Logs the limits as RabbitMQ does at boot, checks at once, then every `intervalMs` (unref'd). */
  start(intervalMs = 1000): void {
    this.logMemoryLimit();
    this.log.info("Enabling free disk space monitoring");
    this.logDiskLimit();
    this.check();
    this.timer?.cancel();
    this.timer = every(intervalMs, () => this.check());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Reads memory and disk now; logs and notifies listeners when an alarm was set or cleared. */
  check(): void {
    let changed = this.checkMemory();
    changed = this.checkDisk() || changed;
    if (changed) { for (const listener of this.listeners) listener(this.active); }
  }

  private checkMemory(): boolean {
    const used = this.probes.memoryUsed();
    const allowed = this.memoryThreshold;
    const on = used > allowed;
    if (on === this.active.has("memory")) return false;
    this.log.info(`vm_memory_high_watermark ${on ? "set" : "clear"}. Memory used:${used} allowed:${allowed}`);
    return this.update("memory", on);
  }

  /** The free space below which the disk alarm is set: the limit plus what the store needs. */
  get diskFreeNeeded(): number {
    return this.options.diskFreeLimit + (this.options.store?.().headroomBytes ?? 0);
  }

  private checkDisk(): boolean {
    const store = this.options.store?.();
    const limit = this.options.diskFreeLimit + (store?.headroomBytes ?? 0);
    let free: number;
    try {
      free = this.probes.diskFree(this.options.dataDir);
      this.diskUnreadable = false;
    } catch (err) {
      // Unreadable: leave the disk alarm as it is, and say so once.
      if (!this.diskUnreadable) this.log.warning(`Cannot read free disk space of "${this.options.dataDir}": ${(err as Error).message}`);
      this.diskUnreadable = true;
      return false;
    }
    // A store that found the disk full keeps the alarm until it has its reserve back.
    const on = free < limit || store?.full === true;
    if (on === this.active.has("disk")) return false;
    this.log.info(
      `Free disk space is ${on ? "insufficient" : "sufficient"}. Free bytes: ${free}. Limit: ${limit}${
        store?.full ? " (the store found the disk full)" : ""
      }`,
    );
    return this.update("disk", on);
  }

  private update(resource: AlarmResource, on: boolean): boolean {
    const node = erlangAtom(this.node);
    if (on) {
      this.active.add(resource);
      this.log.warning(
        `${resource} resource limit alarm set on node ${node}.\n\n${STARS}\n` +
          `*** Publishers will be blocked until this alarm clears ***\n${STARS}`,
      );
    } else {
      this.active.delete(resource);
      this.log.warning(`${resource} resource limit alarm cleared on node ${node}`);
    }
    return true;
  }

  private logMemoryLimit(): void {
    const total = this.probes.memoryLimit();
    const limit = memoryThreshold(this.options.memoryHighWatermark, total);
    this.log.info(
      `Memory high watermark set to ${Math.trunc(limit / MIB)} MiB (${limit} bytes) of ${
        Math.trunc(total / MIB)
      } MiB (${total} bytes) total`,
    );
  }

  private logDiskLimit(): void {
    this.log.info(`Disk free limit set to ${Math.trunc(this.options.diskFreeLimit / 1_000_000)}MB`);
  }
}

/** A watermark ≤ 1 is a fraction of `total`; a larger one is bytes. */
export function memoryThreshold(watermark: number, total: number): number {
  return watermark <= 1 ? Math.trunc(watermark * total) : Math.trunc(watermark);
}

/** The connection.blocked reason, as rabbit_reader words it: "low on memory", "low on memory & disk". */
export function blockedReason(active: ReadonlySet<AlarmResource>): string {
  const reasons: string[] = [];
  if (active.has("memory")) reasons.push("memory");
  if (active.has("disk")) reasons.push("disk");
  return `low on ${reasons.join(" & ")}`;
}

/** A node name as Erlang's ~p prints the atom: quoted unless it is a plain lowercase atom. */
function erlangAtom(name: string): string {
  return /^[a-z][A-Za-z0-9_@]*$/.test(name) ? name : `'${name.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}
