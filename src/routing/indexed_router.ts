// What every built-in router shares: bindings identified by (routing key, arguments,
// destination), a per-destination index so removeDestination touches only that destination's
// bindings, and lists with O(1) removal. Each exchange type adds its own routing index.
import type { FieldTable } from "../amqp/table.ts";
import { argumentsKey } from "./field_values.ts";
import type { RoutableMessage, Router } from "./router.ts";

export interface Binding<D> {
  readonly routingKey: string;
  readonly args: FieldTable;
  readonly destination: D;
  /** Position in the one BindingList that holds it (maintained by that list). */
  slot: number;
}

/** An unordered list of bindings with O(1) add and remove (swap with the last). */
export class BindingList<B extends Binding<unknown>> {
  readonly items: B[] = [];

  get length(): number {
    return this.items.length;
  }

  add(binding: B): void {
    binding.slot = this.items.length;
    this.items.push(binding);
  }

  remove(binding: B): void {
    const last = this.items.pop()!;
    if (last !== binding) {
      this.items[binding.slot] = last;
      last.slot = binding.slot;
    }
    binding.slot = -1;
  }
}

/** One string per (routing key, arguments): the length prefix keeps the two parts apart. */
function bindingId(routingKey: string, args: FieldTable): string {
  return `${routingKey.length}:${routingKey}${argumentsKey(args)}`;
}

export abstract class IndexedRouter<D, B extends Binding<D>> implements Router<D> {
  private readonly byDestination = new Map<D, Map<string, B>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  bind(routingKey: string, args: FieldTable, destination: D): boolean {
    const id = bindingId(routingKey, args);
    let bindings = this.byDestination.get(destination);
    if (bindings?.has(id)) return false;
    const binding = this.attach(routingKey, args, destination);
    if (!bindings) this.byDestination.set(destination, bindings = new Map());
    bindings.set(id, binding);
    this.count++;
    return true;
  }

  has(routingKey: string, args: FieldTable, destination: D): boolean {
    return this.byDestination.get(destination)?.has(bindingId(routingKey, args)) ?? false;
  }

  unbind(routingKey: string, args: FieldTable, destination: D): boolean {
    const bindings = this.byDestination.get(destination);
    if (!bindings) return false;
    const id = bindingId(routingKey, args);
    const binding = bindings.get(id);
    if (!binding) return false;
    this.detach(binding);
    bindings.delete(id);
    if (bindings.size === 0) this.byDestination.delete(destination);
    this.count--;
    return true;
  }

  removeDestination(destination: D): void {
    const bindings = this.byDestination.get(destination);
    if (!bindings) return;
    for (const binding of bindings.values()) this.detach(binding);
    this.count -= bindings.size;
    this.byDestination.delete(destination);
  }

  *bindings(): Iterable<B> {
    for (const bindings of this.byDestination.values()) yield* bindings.values();
  }

  bindingsTo(destination: D): Iterable<B> {
    return this.byDestination.get(destination)?.values() ?? [];
  }

  abstract route(routingKey: string, message: RoutableMessage, out: Set<D>): void;

  /** Creates a new binding and adds it to the routing index. */
  protected abstract attach(routingKey: string, args: FieldTable, destination: D): B;
  /** Takes a binding out of the routing index. */
  protected abstract detach(binding: B): void;
}
