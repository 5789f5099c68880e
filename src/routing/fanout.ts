// The fanout exchange: every bound destination gets every message; keys and arguments only
// tell bindings apart.
import type { FieldTable } from "../amqp/table.ts";
import { type Binding, BindingList, IndexedRouter } from "./indexed_router.ts";
import type { RoutableMessage } from "./router.ts";

export class FanoutRouter<D> extends IndexedRouter<D, Binding<D>> {
  private readonly all = new BindingList<Binding<D>>();

  route(_routingKey: string, _message: RoutableMessage, out: Set<D>): void {
    const items = this.all.items;
    for (let i = 0; i < items.length; i++) out.add(items[i]!.destination);
  }

  protected attach(routingKey: string, args: FieldTable, destination: D): Binding<D> {
    const binding: Binding<D> = { routingKey, args, destination, slot: -1 };
    this.all.add(binding);
    return binding;
  }

  protected detach(binding: Binding<D>): void {
    this.all.remove(binding);
  }
}
