// The routing contract every exchange type implements (built-in types here; plugin types in
// plugins/ implement the same). A router indexes bindings for one exchange and, given a
// routing key and a view of the message (headers and properties, decoded only when a router
// asks), adds the matching destinations to a caller-owned Set, reused per channel so routing
// allocates nothing per message.
import type { BasicProperties } from "../amqp/spec/properties.gen.ts";
import type { FieldTable } from "../amqp/table.ts";

/** What a router may look at besides the routing key. The broker's Message is one. */
export interface RoutableMessage {
  readonly routingKey: string;
  /** The headers property, decoded on first call (only routers that need it call it). */
  headerTable(): FieldTable | undefined;
  /** Every property, decoded on first use (consistent-hash on message_id, timestamp, …). */
  readonly props: BasicProperties;
}

export interface Router<D> {
  /** Adds a binding; returns false when the same (key, arguments, destination) already exists. */
  bind(routingKey: string, args: FieldTable, destination: D): boolean;
  /** Whether exactly this binding exists. */
  has(routingKey: string, args: FieldTable, destination: D): boolean;
  /** Removes a binding; returns false when there was none. */
  unbind(routingKey: string, args: FieldTable, destination: D): boolean;
  /**
   * Adds every destination the message routes to with `routingKey` (its own, or a CC/BCC key)
   * into `out` (a Set dedupes).
   */
  route(routingKey: string, message: RoutableMessage, out: Set<D>): void;
  /** Removes every binding to `destination` (queue or exchange deleted). */
  removeDestination(destination: D): void;
  /** Number of bindings. */
  readonly size: number;
  /** Every binding (for listing: management API, definitions export). */
  bindings(): Iterable<BoundTo<D>>;
  /**
   * The bindings to one destination (optional: without it a queue delete that announces its
   * removed bindings filters every binding of every exchange).
   */
  bindingsTo?(destination: D): Iterable<BoundTo<D>>;
}

/** A binding as listed: its key, arguments and destination. */
export interface BoundTo<D> {
  readonly routingKey: string;
  readonly args: FieldTable;
  readonly destination: D;
}

/** Validates binding arguments for the type (e.g. headers x-match); throws AmqpError 406. */
export type BindingValidator = (args: FieldTable) => void;
