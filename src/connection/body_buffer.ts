// The body of a message arriving in several frames. The buffer grows with the bytes that arrive
// (doubling, capped at the declared size, so the last step is exactly the body) instead of
// reserving the declared size up front: a content header claiming 128 MiB costs nothing until
// the bytes come. Every byte held this way is counted per connection and per broker
// (PartialBodies), and growth past a step asks the memory alarm to look again at once.

/** Counts the bytes held in partially received bodies (capacity of their buffers). */
export class PartialBodies {
  /** Bytes held now. */
  bytes = 0;
  /** Largest `bytes` seen (for tests and diagnostics). */
  peak = 0;
  private sinceCheck = 0;

  /**
   * @param step growth (bytes) after which `onStep` runs, e.g. a memory alarm check.
   */
  constructor(private readonly onStep: () => void = () => {}, private readonly step = 16 * 1024 * 1024) {}

  add(n: number): void {
    this.bytes += n;
    if (this.bytes > this.peak) this.peak = this.bytes;
    this.sinceCheck += n;
    if (this.sinceCheck >= this.step) {
      this.sinceCheck = 0;
      this.onStep();
    }
  }

  remove(n: number): void {
    this.bytes -= n;
  }
}

/** The first buffer for a multi-frame body: room for a few frames, never more than the body. */
const INITIAL = 256 * 1024;

/**
 * A buffer that holds `received + length` bytes of a body declared `bodySize` long, grown from
 * `current` (whose first `received` bytes are kept). Accounts the growth on both counters.
 */
export function growBody(
  current: Uint8Array | undefined, received: number, length: number, bodySize: number,
  connection: PartialBodies, broker: PartialBodies,
): Uint8Array {
  const needed = received + length;
  const have = current?.length ?? 0;
  if (current !== undefined && needed <= have) return current;
  const size = Math.min(bodySize, Math.max(needed, have * 2, INITIAL));
  const next = new Uint8Array(size);
  if (current !== undefined && received > 0) next.set(current.subarray(0, received));
  connection.add(size - have);
  broker.add(size - have);
  return next;
}

/** Releases what a dropped or completed body held. */
export function releaseBody(held: number, connection: PartialBodies, broker: PartialBodies): void {
  if (held === 0) return;
  connection.remove(held);
  broker.remove(held);
}
