// What happens to exchanges, queues, bindings and policies, for those who react to it (RabbitMQ's
// exchange decorators and policy notifications: federation links an exchange when a policy with
// federation-upstream starts applying to it). Listeners run synchronously, after the change, and
// must not throw; one that does is logged and the others still run.
import type { Destination, Exchange } from "./exchange.ts";
import type { Policy } from "./policy.ts";
import type { Queue } from "./queue.ts";

export interface BrokerEventMap {
  exchangeCreated: { vhost: string; exchange: Exchange };
  exchangeDeleted: { vhost: string; exchange: Exchange };
  queueCreated: { vhost: string; queue: Queue };
  queueDeleted: { vhost: string; queue: Queue };
  bindingAdded: { vhost: string; source: Exchange; destination: Destination; routingKey: string };
  bindingRemoved: { vhost: string; source: Exchange; destination: Destination; routingKey: string };
  /** The policy in effect for an exchange or queue changed (before or after may be none). */
  policyChanged: { vhost: string; target: Exchange | Queue; before: Policy | undefined; after: Policy | undefined };
}

type Listener<K extends keyof BrokerEventMap> = (event: BrokerEventMap[K]) => void;

export class BrokerEvents {
  private readonly listeners: { [K in keyof BrokerEventMap]?: Listener<K>[] } = {};

  constructor(private readonly onError: (err: unknown) => void = () => {}) {}

  /** Subscribes; returns the function that unsubscribes (a plugin calls it when it stops). */
  on<K extends keyof BrokerEventMap>(kind: K, listener: Listener<K>): () => void {
    const list = (this.listeners[kind] ??= []) as Listener<K>[];
    list.push(listener);
    return () => {
      const at = list.indexOf(listener);
      if (at >= 0) list.splice(at, 1);
    };
  }

  /** Whether anyone listens (to skip work that only an event needs). */
  has(kind: keyof BrokerEventMap): boolean {
    return (this.listeners[kind]?.length ?? 0) > 0;
  }

  emit<K extends keyof BrokerEventMap>(kind: K, event: BrokerEventMap[K]): void {
    const list = this.listeners[kind] as Listener<K>[] | undefined;
    if (list === undefined || list.length === 0) return;
    for (const listener of [...list]) {
      try {
        listener(event);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
