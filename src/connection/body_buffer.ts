// The body of a message arriving in several frames. The buffer grows with the bytes that arrive
// (doubling, capped at the declared size, so the last step is exactly the body) instead of
// reserving the declared size up front: a content header claiming 128 MiB costs nothing until
// the bytes come. Every byte held this way is counted per connection and per broker
// (PartialBodies, src/broker/partial_bodies.ts), and growth past a step asks the memory alarm
// to look again at once.
import type { PartialBodies } from "../broker/partial_bodies.ts";

/** The first buffer for a multi-frame body: room for a few frames, never more than the body. */
const INITIAL = 256 * 1024;

/**
 * A buffer that holds `received + length` bytes of a body declared `bodySize` long, grown from
 * `current` (whose first `received` bytes are kept). Accounts the growth on both counters.
 */
export function growBody(
  current: Uint8Array | undefined,
  received: number,
  length: number,
  bodySize: number,
  connection: PartialBodies,
  broker: PartialBodies,
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
