// The routing contract every exchange type implements (built-in types here; plugin types in
// plugins/ implement the same). A router indexes bindings for one exchange and, given a
// message's routing key and (lazily decoded) headers, adds the matching destinations to a
// caller-owned Set, reused per channel so routing allocates nothing per message.
import type { FieldTable } from "../amqp/table.ts";

/** Lazily decoded message headers: called only by routers that need them (headers exchange). */
export type HeadersAccess = () => FieldTable | undefined;

export interface Router<D> {
  /** Adds a binding; returns false when the same (key, arguments, destination) already exists. */
  bind(routingKey: string, args: FieldTable, destination: D): boolean;
  /** Whether exactly this binding exists. */
  has(routingKey: string, args: FieldTable, destination: D): boolean;
  /** Removes a binding; returns false when there was none. */
  unbind(routingKey: string, args: FieldTable, destination: D): boolean;
  /** Adds every destination the message routes to into `out` (a Set dedupes). */
  route(routingKey: string, headers: HeadersAccess, out: Set<D>): void;
  /** Removes every binding to `destination` (queue or exchange deleted). */
  removeDestination(destination: D): void;
  /** Number of bindings. */
  readonly size: number;
  /** Every binding (for listing: management API, definitions export). */
  bindings(): Iterable<BoundTo<D>>;
}

/** A binding as listed: its key, arguments and destination. */
export interface BoundTo<D> {
  readonly routingKey: string;
  readonly args: FieldTable;
  readonly destination: D;
}

/** Validates binding arguments for the type (e.g. headers x-match); throws AmqpError 406. */
export type BindingValidator = (args: FieldTable) => void;
