// The direct exchange: a message goes to the bindings whose key equals its routing key
// exactly. Routing is one Map lookup.
import type { FieldTable } from "../amqp/table.ts";
import { type Binding, BindingList, IndexedRouter } from "./indexed_router.ts";
import type { RoutableMessage } from "./router.ts";

export class DirectRouter<D> extends IndexedRouter<D, Binding<D>> {
  private readonly byKey = new Map<string, BindingList<Binding<D>>>();

  route(routingKey: string, _message: RoutableMessage, out: Set<D>): void {
    const list = this.byKey.get(routingKey);
    if (!list) return;
    const items = list.items;
    for (let i = 0; i < items.length; i++) out.add(items[i]!.destination);
  }

  protected attach(routingKey: string, args: FieldTable, destination: D): Binding<D> {
    const binding: Binding<D> = { routingKey, args, destination, slot: -1 };
    let list = this.byKey.get(routingKey);
    if (!list) this.byKey.set(routingKey, list = new BindingList());
    list.add(binding);
    return binding;
  }

  protected detach(binding: Binding<D>): void {
    const list = this.byKey.get(binding.routingKey)!;
    list.remove(binding);
    if (list.length === 0) this.byKey.delete(binding.routingKey);
  }
}
