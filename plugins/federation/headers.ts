// The federation headers (rabbit_federation_util): x-received-from, prepended by each link a
// message crosses, records where it has been (uri, exchange or queue, redelivered, cluster-name,
// vhost); x-bound-from, on the bindings a link makes upstream, records which downstreams a
// binding came from and how many hops it may still travel.
import type { FieldTable, FieldValue } from "../../src/amqp/table.ts";
import { Typed } from "../../src/amqp/table.ts";

export const ROUTING_HEADER = "x-received-from";
export const BINDING_HEADER = "x-bound-from";

/** Whether a message may cross one more link toward (downstream name, vhost) (should_forward). */
export function shouldForward(
  headers: FieldTable | undefined,
  maxHops: number,
  downstreamName: string | undefined,
  downstreamVhost: string | undefined,
): boolean {
  const received = headers?.[ROUTING_HEADER];
  if (!Array.isArray(received)) return true;
  return received.length < maxHops && !alreadySeen(downstreamName, downstreamVhost, received);
}

/** Whether a header list names (cluster-name, vhost) already (already_seen). */
export function alreadySeen(clusterName: string | undefined, vhost: string | undefined, list: readonly FieldValue[]): boolean {
  return list.some((entry) => {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry) || entry instanceof Uint8Array) return false;
    const table = entry as FieldTable;
    return clusterName !== undefined && vhost !== undefined && table["cluster-name"] === clusterName && table["vhost"] === vhost;
  });
}

/** Prepends `entry` to the array under `key` (rabbit_basic:prepend_table_header). */
export function prependTableHeader(headers: FieldTable | undefined, key: string, entry: FieldTable): FieldTable {
  const out: FieldTable = { ...headers };
  const previous = headers?.[key];
  out[key] = Array.isArray(previous) ? [entry, ...previous] : [entry];
  return out;
}

/** The hop count a binding's x-bound-from entry carries (any integer type). */
export function hopsOf(entry: FieldValue | undefined): number {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return 0;
  const hops = (entry as FieldTable).hops;
  if (hops instanceof Typed) return Number(hops.value);
  return typeof hops === "number" || typeof hops === "bigint" ? Number(hops) : 0;
}

/** A signed 16-bit integer field, as RabbitMQ writes hops. */
export const short = (n: number) => new Typed("s", n);
