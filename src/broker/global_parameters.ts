// Global runtime parameters (rabbit_runtime_parameters:set_global): named JSON values that belong
// to the node, not to a vhost. RabbitMQ keeps internal_cluster_id and, once set, cluster_name
// here; definitions carry them, and tools may store their own.
import { randomBytes } from "node:crypto";
import type { Json } from "./json_table.ts";
import type { Store } from "../../storage/store.ts";

export interface GlobalParameter {
  name: string;
  value: Json;
}

export class GlobalParameters {
  private readonly values = new Map<string, Json>();

  constructor(private readonly store: Store | null) {}

  /** Boot: a stored value, not written again. */
  restore(name: string, value: Json): void {
    this.values.set(name, value);
  }

  /** RabbitMQ creates internal_cluster_id once per cluster; a fresh store gets one here. */
  ensureClusterId(): void {
    if (!this.values.has("internal_cluster_id")) {
      this.set("internal_cluster_id", `rabbitmq-cluster-id-${randomBytes(16).toString("base64url")}`);
    }
  }

  get(name: string): Json | undefined {
    return this.values.get(name);
  }

  /** Sorted by name, as RabbitMQ lists them. */
  list(): GlobalParameter[] {
    return [...this.values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => ({ name, value }));
  }

  set(name: string, value: Json): void {
    this.values.set(name, value);
    this.store?.saveGlobalParameter(name, value);
  }

  /** Returns false when there was no parameter of that name. */
  clear(name: string): boolean {
    if (!this.values.delete(name)) return false;
    this.store?.deleteGlobalParameter(name);
    return true;
  }
}
