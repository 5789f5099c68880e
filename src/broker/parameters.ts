// Per-vhost runtime parameters (rabbit_runtime_parameters): values of named components in a
// vhost, set through /api/parameters and definitions. A component is registered by what
// implements it: the broker registers vhost-limits; plugins (shovel, federation) add theirs.
import type { Json } from "./json_table.ts";
import type { Vhost, VhostLimits } from "./vhost.ts";
import { checkVhostLimits, ManagementError } from "./management.ts";
import { type ParameterComponent, type ParameterSpec, ParameterValues, specComponent } from "./parameter_specs.ts";

export type { ParameterComponent, ParameterSpec };
import type { Store } from "../../storage/store.ts";

export interface RuntimeParameter {
  vhost: string;
  component: string;
  name: string;
  value: Json;
}

export class RuntimeParameters {
  private readonly components = new Map<string, ParameterComponent>();
  private readonly specs = new Map<string, ParameterSpec>();
  /** Values of spec components (plugins' shovel, federation-upstream, …), kept while their plugin is off too. */
  readonly values: ParameterValues;

  constructor(private readonly broker: { readonly vhosts: ReadonlyMap<string, Vhost>; readonly store: Store | null }) {
    this.values = new ParameterValues(() => broker.store);
  }

  register(component: ParameterComponent): void {
    this.components.set(component.name, component);
  }

  /** A component defined by validate/notify/notifyClear; its values are stored and recovered here. */
  registerSpec(spec: ParameterSpec): void {
    this.specs.set(spec.name, spec);
    this.register(specComponent(spec, this.values));
  }

  /** The component's plugin runs: it is told every value it has (recovered or set while it was off). */
  activate(component: string): void {
    const spec = this.specs.get(component);
    if (!spec?.notify) return;
    for (const { vhost, name, value } of this.values.all(component)) spec.notify(vhost, name, value);
  }

  /** Boot: a stored value of a component other than policies (kept even if no plugin has the component). */
  restore(vhost: string, component: string, name: string, value: Json): void {
    this.values.restore(component, vhost, name, value);
  }

  /** A vhost was deleted: its values go, and their components are told. */
  vhostDeleted(vhost: string): void {
    for (const { component, names } of this.values.dropVhost(vhost)) {
      for (const name of names) this.specs.get(component)?.notifyClear?.(vhost, name);
    }
  }

  /** A plugin's component goes with the plugin (its stored values stay for when it returns). */
  unregister(component: string): void {
    this.components.delete(component);
    this.specs.delete(component);
  }

  has(component: string): boolean {
    return this.components.has(component);
  }

  /** Every parameter, optionally of one component and/or vhost (RabbitMQ's listing order: vhost, component, name). */
  list(filter: { component?: string; vhost?: Vhost } = {}): RuntimeParameter[] {
    const vhosts = filter.vhost ? [filter.vhost] : [...this.broker.vhosts.values()];
    const out: RuntimeParameter[] = [];
    for (const vhost of vhosts) {
      for (const c of this.components.values()) {
        if (filter.component !== undefined && c.name !== filter.component) continue;
        for (const p of c.list(vhost)) out.push({ vhost: vhost.name, component: c.name, name: p.name, value: p.value });
      }
    }
    return out;
  }

  /** Validates without changing anything (definitions import checks the whole file first). */
  check(vhost: string, component: string, name: string, value: Json): void {
    this.component(component).check(vhost, name, value);
  }

  set(vhost: Vhost, component: string, name: string, value: Json): void {
    this.component(component).set(vhost, name, value);
  }

  clear(vhost: Vhost, component: string, name: string): boolean {
    return this.component(component).clear(vhost, name);
  }

  private component(name: string): ParameterComponent {
    const c = this.components.get(name);
    if (!c) throw new ManagementError("invalid", `component ${name} not found`);
    return c;
  }
}

/** vhost-limits: one parameter named "limits" whose value is the vhost's limits object. */
export function vhostLimitsComponent(broker: { setVhostLimits(vhost: string, limits: VhostLimits): void }): ParameterComponent {
  return {
    name: "vhost-limits",
    list: (vhost) => (Object.keys(vhost.limits).length === 0 ? [] : [{ name: "limits", value: { ...vhost.limits } }]),
    check(vhost, name, raw) {
      const value = emptyListAsObject(raw);
      if (name !== "limits") throw new ManagementError("invalid", `vhost-limits parameters are named 'limits', not '${name}'`);
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new ManagementError("invalid", `limits should be an object, actually was ${JSON.stringify(value)}`);
      }
      checkVhostLimits(value, vhost);
    },
    set(vhost, name, raw) {
      this.check(vhost.name, name, raw);
      broker.setVhostLimits(vhost.name, emptyListAsObject(raw) as VhostLimits);
    },
    clear(vhost, name) {
      if (name !== "limits" || Object.keys(vhost.limits).length === 0) return false;
      broker.setVhostLimits(vhost.name, {});
      return true;
    },
  };
}

/** RabbitMQ exports cleared limits as `[]` (an empty Erlang proplist): the same as `{}`. */
function emptyListAsObject(value: Json): Json {
  return Array.isArray(value) && value.length === 0 ? {} : value;
}
