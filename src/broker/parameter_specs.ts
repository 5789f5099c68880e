// Runtime-parameter components as RabbitMQ's rabbit_runtime_parameter behaviour defines them: the
// component validates a value and is told when one is set (notify) or cleared (notifyClear). The
// values themselves are kept, stored and recovered here, by one owner, whether or not the
// component's plugin is running: a shovel defined while the plugin is off waits in the store and
// starts when the plugin does.
import type { Store } from "../../storage/store.ts";
import type { Json } from "./json_table.ts";
import { ManagementError } from "./management.ts";
import type { Vhost } from "./vhost.ts";

/** What the registry serves for one component (the vhost-limits one is written by hand). */
export interface ParameterComponent {
  readonly name: string;
  /** The vhost's parameters of this component. */
  list(vhost: Vhost): { name: string; value: Json }[];
  /** Throws ManagementError with RabbitMQ's text unless the value is valid (changes nothing). */
  check(vhost: string, name: string, value: Json): void;
  /** Validates and sets (and stores) one. */
  set(vhost: Vhost, name: string, value: Json): void;
  /** Returns false when there was no such parameter. */
  clear(vhost: Vhost, name: string): boolean;
}

export interface ParameterSpec {
  readonly name: string;
  /** Throws an Error whose message is RabbitMQ's text unless the value is valid; changes nothing. */
  validate(vhost: string, name: string, value: Json): void;
  /** A value was set, recovered, or found when the component became active. */
  notify?(vhost: string, name: string, value: Json): void;
  /** A value was cleared (or its vhost deleted). */
  notifyClear?(vhost: string, name: string): void;
}

/** Every component's values: component → vhost → name → value. */
export class ParameterValues {
  private readonly values = new Map<string, Map<string, Map<string, Json>>>();

  /** `store` is asked at each write (the broker's is set after its registries are made). */
  constructor(private readonly store: () => Store | null) {}

  get(component: string, vhost: string): Map<string, Json> | undefined {
    return this.values.get(component)?.get(vhost);
  }

  /** Boot: a stored value (not written again). */
  restore(component: string, vhost: string, name: string, value: Json): void {
    let byVhost = this.values.get(component);
    if (!byVhost) this.values.set(component, byVhost = new Map());
    let byName = byVhost.get(vhost);
    if (!byName) byVhost.set(vhost, byName = new Map());
    byName.set(name, value);
  }

  set(component: string, vhost: string, name: string, value: Json): void {
    this.restore(component, vhost, name, value);
    this.store()?.saveRuntimeParameter(vhost, component, name, value);
  }

  clear(component: string, vhost: string, name: string): boolean {
    const byName = this.values.get(component)?.get(vhost);
    if (!byName?.delete(name)) return false;
    this.store()?.deleteRuntimeParameter(vhost, component, name);
    return true;
  }

  /** The vhost is gone (its stored rows go with it): every component's values there, by component. */
  dropVhost(vhost: string): { component: string; names: string[] }[] {
    const out: { component: string; names: string[] }[] = [];
    for (const [component, byVhost] of this.values) {
      const byName = byVhost.get(vhost);
      if (byName && byName.size > 0) out.push({ component, names: [...byName.keys()] });
      byVhost.delete(vhost);
    }
    return out;
  }

  /** Every value of a component, for notifying it when it becomes active. */
  all(component: string): { vhost: string; name: string; value: Json }[] {
    const out: { vhost: string; name: string; value: Json }[] = [];
    for (const [vhost, byName] of this.values.get(component) ?? []) {
      for (const [name, value] of byName) out.push({ vhost, name, value });
    }
    return out;
  }

  /** Components with values, for listings that include those whose plugin is off. */
  components(): string[] {
    return [...this.values.keys()];
  }
}

/** The ParameterComponent that the registry serves for a spec, its values kept in `values`. */
export function specComponent(spec: ParameterSpec, values: ParameterValues): ParameterComponent {
  return {
    name: spec.name,
    list: (vhost: Vhost) => [...(values.get(spec.name, vhost.name) ?? [])].map(([name, value]) => ({ name, value })),
    check: (vhost, name, value) => {
      if (name === "") throw new ManagementError("invalid", "the parameter name must not be empty");
      try {
        spec.validate(vhost, name, value);
      } catch (err) {
        // A plugin throws any Error; the API answers it as invalid input (400).
        throw err instanceof ManagementError ? err : new ManagementError("invalid", (err as Error).message);
      }
    },
    set(vhost, name, value) {
      this.check(vhost.name, name, value);
      values.set(spec.name, vhost.name, name, value);
      spec.notify?.(vhost.name, name, value);
    },
    clear(vhost, name) {
      if (!values.clear(spec.name, vhost.name, name)) return false;
      spec.notifyClear?.(vhost.name, name);
      return true;
    },
  };
}
