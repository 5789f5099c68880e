// Starts and stops links as policies, upstreams, exchanges and queues change (the parts of
// rabbit_federation_exchange, rabbit_federation_queue and the link supervisors that decide what
// runs): every exchange or queue whose policy federates it has one link per upstream the policy
// resolves to; a change takes effect at once, synchronously in the broker event.
import type { Broker } from "../../src/broker/broker.ts";
import { Exchange } from "../../src/broker/exchange.ts";
import type { Queue } from "../../src/broker/queue.ts";
import type { Logger } from "../../src/log.ts";
import { linkId, type LinkIdentity, type LinkKind, type LinkStatusEntry } from "./status.ts";
import { federates, type Upstream, upstreamsFor } from "./upstreams.ts";
import { withoutCredentials } from "./uri.ts";
import { NodeHistory } from "../../src/client/mod.ts";

/** How long the broker's shutdown waits for links to stop (the rest stop on their own). */
const SHUTDOWN_WAIT_MS = 3000;

/** One running link: it connects, moves messages, reconnects; the supervisor starts and stops it. */
export interface Link {
  readonly upstream: Upstream;
  readonly status: LinkStatusEntry;
  start(): void;
  /** Stops it. `forGood`: it will not come back (policy or upstream removed): clean up upstream. */
  stop(forGood: boolean): Promise<void>;
  /** Drops its connection and connects again at once. */
  restart(): void;
  /** The local exchange's bindings changed (exchange links bring the upstream in line). */
  bindingsChanged?(): void;
}

/** Makes the link of a local exchange or queue to one upstream. */
export type LinkFactory = (target: Exchange | Queue, upstream: Upstream, status: LinkStatusEntry) => Link;

export class LinkSupervisor {
  /** By target ("vhost\0kind\0name"), then by upstream name. */
  private readonly links = new Map<string, Map<string, Link>>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly stopping = new Set<Promise<void>>();

  constructor(
    private readonly broker: Broker,
    private readonly factory: LinkFactory,
    private readonly log: Logger,
    /** Messages links published downstream, links gone included (Prometheus). */
    readonly counters: { forwarded: number } = { forwarded: 0 },
  ) {}

  /** Subscribes to the broker's events and starts the links of what is federated already. */
  start(): void {
    const events = this.broker.events;
    this.unsubscribe.push(
      events.on("policyChanged", ({ target }) => this.reconcile(target)),
      events.on("exchangeCreated", ({ exchange }) => this.reconcile(exchange)),
      events.on("queueCreated", ({ queue }) => this.reconcile(queue)),
      events.on("exchangeDeleted", ({ exchange }) => this.stopTarget(exchange, true)),
      events.on("queueDeleted", ({ queue }) => this.stopTarget(queue, true)),
      events.on("bindingAdded", ({ source }) => this.bindingsChanged(source)),
      events.on("bindingRemoved", ({ source }) => this.bindingsChanged(source)),
    );
    for (const vhost of this.broker.vhosts.keys()) this.upstreamsChanged(vhost);
  }

  /** Stops every link (the broker or the plugin stops): upstream queues stay, to fill meanwhile. */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    const all = [...this.links.values()].flatMap((byUpstream) => [...byUpstream.values()]);
    this.links.clear();
    const stopped = Promise.all([...all.map((link) => link.stop(false)), ...this.stopping]).then(() => true);
    // A link removing its upstream objects, or waiting for a peer's close-ok, may wait seconds
    // (each step has its own timeout); the broker's shutdown waits for them only this long.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), SHUTDOWN_WAIT_MS)));
    const allStopped = await Promise.race([stopped, waited]);
    clearTimeout(timer);
    if (!allStopped) this.log.warning(`federation: links still stopping after ${SHUTDOWN_WAIT_MS} ms; not waiting for them`);
  }

  /** An upstream or set of the vhost changed: every federated exchange and queue there is looked at again. */
  upstreamsChanged(vhost: string): void {
    const v = this.broker.vhosts.get(vhost);
    if (!v) {
      for (const key of [...this.links.keys()]) if (key.startsWith(`${vhost}\u0000`)) this.stopKey(key, true);
      return;
    }
    for (const exchange of v.exchanges.values()) this.reconcile(exchange);
    for (const queue of v.queues.values()) this.reconcile(queue);
  }

  /** Every link's status entry. */
  statuses(): LinkStatusEntry[] {
    return [...this.links.values()].flatMap((byUpstream) => [...byUpstream.values()].map((l) => l.status));
  }

  /** Restarts the link with this id; false when there is none. */
  restart(id: string): boolean {
    for (const byUpstream of this.links.values()) {
      for (const link of byUpstream.values()) {
        if (link.status.id !== id) continue;
        this.log.info(`restarting link ${describe(link.status)}`);
        link.restart();
        return true;
      }
    }
    return false;
  }

  /** Brings the links of one exchange or queue in line with its policy and the upstreams. */
  private reconcile(target: Exchange | Queue): void {
    const kind: LinkKind = target instanceof Exchange ? "exchange" : "queue";
    const key = targetKey(target.vhost, kind, target.name);
    const wanted = new Map<string, Upstream>();
    if (this.federated(target)) {
      const lookup = (component: string, vhost: string) => this.broker.parameters.values.get(component, vhost);
      for (const u of upstreamsFor(lookup, target.vhost, target.policy?.definition, target.name)) wanted.set(u.name, u);
    }
    const running = this.links.get(key) ?? new Map<string, Link>();
    for (const [name, link] of [...running]) {
      const next = wanted.get(name);
      if (next && sameUpstream(next, link.upstream)) continue;
      running.delete(name);
      this.track(link.stop(next === undefined));
    }
    for (const [name, upstream] of wanted) {
      if (running.has(name)) continue;
      const identity: LinkIdentity = {
        vhost: target.vhost,
        kind,
        name: target.name,
        upstream: name,
        upstreamName: kind === "exchange" ? upstream.exchange : upstream.queue,
        consumerTag: upstream.consumerTag,
      };
      const status: LinkStatusEntry = {
        ...identity,
        id: linkId(identity),
        state: "starting",
        error: undefined,
        localConnection: undefined,
        uri: withoutCredentials(upstream.uris[0] ?? ""),
        timestamp: new Date(),
        nodes: new NodeHistory(),
      };
      const link = this.factory(target, upstream, status);
      running.set(name, link);
      this.log.info(`starting link ${describe(status)}`);
      link.start();
    }
    if (running.size > 0) this.links.set(key, running);
    else this.links.delete(key);
  }

  /** As rabbit_federation_exchange:federate: not the default exchange, not an internal one. */
  private federated(target: Exchange | Queue): boolean {
    if (!federates(target.policy?.definition)) return false;
    if (target instanceof Exchange) return target.name !== "" && !target.internal;
    return !target.deleted && target.owner === null;
  }

  private bindingsChanged(source: Exchange): void {
    const byUpstream = this.links.get(targetKey(source.vhost, "exchange", source.name));
    if (byUpstream) { for (const link of byUpstream.values()) link.bindingsChanged?.(); }
  }

  private stopTarget(target: Exchange | Queue, forGood: boolean): void {
    this.stopKey(targetKey(target.vhost, target instanceof Exchange ? "exchange" : "queue", target.name), forGood);
  }

  private stopKey(key: string, forGood: boolean): void {
    const byUpstream = this.links.get(key);
    if (!byUpstream) return;
    this.links.delete(key);
    for (const link of byUpstream.values()) this.track(link.stop(forGood));
  }

  /** Stops finish in the background; stop() waits for those still under way. */
  private track(stopped: Promise<void>): void {
    const p = stopped.catch((err) => this.log.warning(`a link failed to stop cleanly: ${(err as Error).message}`))
      .finally(() => this.stopping.delete(p));
    this.stopping.add(p);
  }
}

function targetKey(vhost: string, kind: LinkKind, name: string): string {
  return `${vhost}\u0000${kind}\u0000${name}`;
}

function sameUpstream(a: Upstream, b: Upstream): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** How the log names a link: "exchange 'x' in vhost '/' (upstream: u)". */
export function describe(link: LinkIdentity): string {
  return `${link.kind} '${link.name}' in vhost '${link.vhost}' (upstream: ${link.upstream})`;
}
