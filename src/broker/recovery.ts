// Boot: rebuild vhosts, users, exchanges, queues, bindings and messages from the store.
import { isHashingAlgorithm } from "../auth/password.ts";
import type { Store } from "../../storage/store.ts";
import type { Broker } from "./broker.ts";
import type { Queue } from "./queue.ts";
import { newQueue } from "./new_queue.ts";
import { Vhost } from "./vhost.ts";

/** A long recovery says how far it got this often. */
const PROGRESS_EVERY_MS = 2000;

export function recover(broker: Broker, store: Store): void {
  const log = broker.log;
  const started = performance.now();
  const meta = store.loadMetadata();
  for (const v of meta.vhosts) {
    const vhost = new Vhost(v.name, broker, store);
    vhost.description = v.description;
    vhost.tags = splitTags(v.tags);
    vhost.limits = parseJson(v.limits);
    broker.vhosts.set(v.name, vhost);
  }
  for (const u of meta.users) {
    const algorithm = isHashingAlgorithm(u.hashing_algorithm) ? u.hashing_algorithm : "rabbit_password_hashing_sha256";
    broker.users.addHashed(u.name, u.password_hash, algorithm, splitTags(u.tags), parseJson(u.limits));
  }
  // A pattern this version refuses must not stop the boot: that permission is left out (denied).
  const restore = (what: string, apply: () => void) => {
    try {
      apply();
    } catch (err) {
      log.warning(`recovery: skipping ${what}: ${(err as Error).message}`);
    }
  };
  for (const p of meta.permissions) {
    restore(`permissions of user '${p.user}' in vhost '${p.vhost}'`, () => broker.users.setPermission(p.user, p.vhost, p));
  }
  for (const p of meta.topicPermissions) {
    restore(`topic permissions of user '${p.user}' in vhost '${p.vhost}'`, () => broker.users.setTopicPermission(p.user, p.vhost, p));
  }
  for (const g of meta.globalParameters) {
    restore(`global parameter '${g.name}'`, () => broker.globalParameters.restore(g.name, JSON.parse(g.value)));
  }
  // Policies first: queues and exchanges pick theirs up as they are rebuilt. Other components'
  // values (plugins': shovel, federation-upstream, …) are kept by the registry, which tells each
  // component its values when its plugin starts.
  for (const r of meta.runtimeParameters) {
    const vhost = broker.vhosts.get(r.vhost);
    if (!vhost) continue;
    if (r.component !== "policy" && r.component !== "operator_policy") {
      restore(
        `${r.component} parameter '${r.name}' in vhost '${r.vhost}'`,
        () => broker.parameters.restore(r.vhost, r.component, r.name, JSON.parse(r.value)),
      );
      continue;
    }
    try {
      vhost.restorePolicy(r.component, r.name, JSON.parse(r.value));
    } catch (err) {
      log.warning(`recovery: skipping ${r.component} '${r.name}' in vhost '${r.vhost}': ${(err as Error).message}`);
    }
  }

  for (const x of meta.exchanges) {
    const vhost = broker.vhosts.get(x.vhost);
    if (!vhost) continue;
    // An exchange whose type no enabled plugin provides stays stored (and comes back when the
    // plugin is enabled again), but is not there while it is missing.
    restore(`exchange '${x.name}' in vhost '${x.vhost}' (type '${x.type}')`, () => {
      vhost.restoreExchange(x.name, x.type, x.auto_delete === 1, x.internal === 1, x.args);
    });
  }

  let recovered = 0;
  let lastProgress = performance.now();
  const queues: Queue[] = [];
  for (const q of meta.queues) {
    const vhost = broker.vhosts.get(q.vhost);
    if (!vhost) continue;
    const queue = newQueue(q.vhost, q.name, true, q.auto_delete === 1, null, q.args);
    queue.log = store;
    queue.storeId = q.id;
    vhost.queues.set(q.name, queue);
    vhost.applyQueuePolicy(queue);
    vhost.attachDeadLettering(queue);
    // Only counts now; each queue's head is read once everything is back (Queue.recovered), and the
    // rest is paged in as consumers advance.
    const levels = store.levelStats(q.id, queue.levelCount);
    queue.recover(levels);
    queues.push(queue);
    let count = 0;
    for (const level of levels) count += level.count;
    recovered += count;
    // A line per queue is for debugging: thousands of queues made thousands of info lines.
    if (count > 0) log.debug(`recovery: queue '${q.name}' in vhost '${q.vhost}': ${count} messages (${elapsed(started)})`);
    if (performance.now() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = performance.now();
      log.info(`recovery: ${queues.length} of ${meta.queues.length} queues, ${recovered} messages so far (${elapsed(started)})`);
    }
  }

  for (const b of meta.bindings) {
    const vhost = broker.vhosts.get(b.vhost);
    const source = vhost?.exchanges.get(b.source);
    const destination = b.destination_kind === "queue" ? vhost?.queues.get(b.destination) : vhost?.exchanges.get(b.destination);
    if (!vhost || !source || !destination) continue;
    vhost.restoreBinding(source, destination, b.routing_key, b.args);
  }
  // Expiry and length limits dead-letter through the bindings just restored.
  for (const queue of queues) queue.recovered();
  log.info(`recovery: ${meta.queues.length} queues and ${recovered} messages recovered in ${elapsed(started)}`);
}

function splitTags(tags: string): string[] {
  return tags === "" ? [] : tags.split(",");
}

function parseJson(text: string): Record<string, number> {
  try {
    return JSON.parse(text) as Record<string, number>;
  } catch {
    return {};
  }
}

function elapsed(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(2)} s`;
}
