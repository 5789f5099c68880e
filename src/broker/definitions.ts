// Definitions export and import in RabbitMQ's JSON format (rabbit_definitions): users, vhosts,
// permissions, topic permissions, parameters (operator policies among them, as component
// operator_policy), global parameters, policies, queues, exchanges and bindings. An import is validated whole first, by applying
// it to a scratch copy of the affected vhosts, so a bad entry changes nothing; applying it again
// changes nothing either (every step is a declare). Queues, exchanges and bindings are declared a
// slice per turn of the event loop, in the check and when applied: other connections are served
// meanwhile, and see the import's objects appear as they are declared (as RabbitMQ's concurrent
// import shows them). A client that changes the same objects in between can make the apply fail
// half-way; the error names the object, and importing again finishes it.
import { hashPassword, isHashingAlgorithm } from "../auth/password.ts";
import type { Broker } from "./broker.ts";
import { type Destination, Exchange } from "./exchange.ts";
import { InvalidJson, type Json, type JsonObject, jsonToTable, tableToJson } from "./json_table.ts";
import { Queue } from "./queue.ts";
import { newQueue } from "./new_queue.ts";
import { Vhost, type VhostContext } from "./vhost.ts";
import { BrokerEvents } from "./events.ts";
import { parsePolicy, type Policy, type PolicyBody, policyJson } from "./policy.ts";
import { compilePermission, validateTopicPermission } from "../auth/permissions.ts";
import { checkPasswordHash, checkUserLimits } from "./management.ts";
import { listPermissions, listUsers } from "./users_view.ts";
import { VERSION } from "../version.ts";
import { turnEnds } from "../runtime/timers.ts";

/** Queues, exchanges and bindings declared per turn: 20,000 queues and 25,000 bindings took 0.5 s in one. */
const DECLARED_PER_TURN = 1_000;

/** The RabbitMQ release whose definitions format this follows. */
const RABBIT_VERSION = "3.10.8";

export class DefinitionsError extends Error {}

/** The runtime-parameter component that carries operator policies in a definitions file. */
const OPERATOR_POLICY = "operator_policy";

/** GET /api/definitions (vhost undefined) or /api/definitions/{vhost} (entries without "vhost"). */
export function exportDefinitions(broker: Broker, vhost?: string): JsonObject {
  const vhosts = vhost === undefined ? [...broker.vhosts.values()] : [broker.vhosts.get(vhost)!];
  const strip = (o: JsonObject) => {
    if (vhost !== undefined) delete o.vhost;
    return o;
  };
  const queues: JsonObject[] = [];
  const exchanges: JsonObject[] = [];
  const bindings: JsonObject[] = [];
  const policies: JsonObject[] = [];
  for (const v of vhosts) {
    for (const p of v.policies.values()) policies.push(strip(policyJson(p) as JsonObject));
    for (const q of v.queues.values()) {
      if (q.owner !== null) continue; // exclusive queues cannot be restored
      queues.push(strip({ name: q.name, vhost: v.name, durable: q.durable, auto_delete: q.autoDelete, arguments: tableToJson(q.args) }));
    }
    for (const x of v.exchanges.values()) {
      if (x.name === "" || x.name.startsWith("amq.")) continue;
      exchanges.push(strip({
        name: x.name,
        vhost: v.name,
        type: x.type,
        durable: x.durable,
        auto_delete: x.autoDelete,
        internal: x.internal,
        arguments: tableToJson(x.args),
      }));
    }
    for (const x of v.exchanges.values()) {
      for (const b of x.router.bindings()) {
        const d = b.destination;
        if (d instanceof Queue && d.owner !== null) continue;
        bindings.push(strip({
          source: x.name,
          vhost: v.name,
          destination: d.name,
          destination_type: d instanceof Exchange ? "exchange" : "queue",
          routing_key: b.routingKey,
          arguments: tableToJson(b.args),
        }));
      }
    }
  }
  const parameters = vhosts.flatMap((v) => broker.parameters.list({ vhost: v }))
    .map((p) => strip({ value: p.value, vhost: p.vhost, component: p.component, name: p.name }));
  // Operator policies are runtime parameters of component operator_policy in RabbitMQ's files.
  for (const v of vhosts) {
    for (const p of v.operatorPolicies.values()) {
      const value = { pattern: p.pattern, definition: { ...p.definition }, priority: p.priority, "apply-to": p.applyTo } as JsonObject;
      parameters.push(strip({ value, vhost: v.name, component: OPERATOR_POLICY, name: p.name }));
    }
  }
  const entities = { parameters, policies, queues, exchanges, bindings };
  if (vhost !== undefined) return { rabbit_version: RABBIT_VERSION, ...entities };
  return {
    rabbit_version: RABBIT_VERSION,
    rabbitmq_version: RABBIT_VERSION,
    product_name: "Warren",
    product_version: VERSION,
    users: listUsers(broker.users).map((u) => ({
      name: u.name,
      password_hash: u.passwordHash,
      hashing_algorithm: u.hashingAlgorithm,
      tags: u.tags,
      limits: { ...u.limits },
    })),
    vhosts: vhosts.map((v) => ({ name: v.name })),
    permissions: listPermissions(broker.users).map((p) => ({
      user: p.user,
      vhost: p.vhost,
      configure: p.configure,
      write: p.write,
      read: p.read,
    })),
    topic_permissions: broker.listTopicPermissions().map((p) => ({ ...p })),
    global_parameters: broker.globalParameters.list().map((g) => ({ name: g.name, value: g.value })),
    ...entities,
  };
}

interface UserDef {
  name: string;
  hash: string;
  algorithm: string;
  tags: string[];
  limits: Record<string, number> | undefined;
}
interface ParameterDef {
  vhost: string;
  component: string;
  name: string;
  value: Json;
}
interface GlobalParameterDef {
  name: string;
  value: Json;
}
interface PermissionDef {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}
interface QueueDef {
  name: string;
  vhost: string;
  durable: boolean;
  autoDelete: boolean;
  args: JsonObject;
}
interface ExchangeDef {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  args: JsonObject;
}
interface TopicPermissionDef {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}
interface BindingDef {
  source: string;
  vhost: string;
  destination: string;
  kind: "queue" | "exchange";
  key: string;
  args: JsonObject;
}

interface Parsed {
  users: UserDef[];
  vhosts: string[];
  permissions: PermissionDef[];
  topicPermissions: TopicPermissionDef[];
  parameters: ParameterDef[];
  globalParameters: GlobalParameterDef[];
  policies: Policy[];
  operatorPolicies: Policy[];
  queues: QueueDef[];
  exchanges: ExchangeDef[];
  bindings: BindingDef[];
  /** What Warren does not apply (parameters of components it lacks), with entry counts. */
  skipped: Record<string, number>;
}

export interface ImportSummary {
  users: number;
  vhosts: number;
  permissions: number;
  queues: number;
  exchanges: number;
  bindings: number;
  skipped: Record<string, number>;
}

/**
 * Imports definitions (into `vhost` when given: entries' own vhost fields are ignored). Throws
 * DefinitionsError naming the first bad entry, before anything is changed.
 */
export async function importDefinitions(
  broker: Broker,
  input: unknown,
  vhost?: string,
  log?: (line: string) => void,
): Promise<ImportSummary> {
  const defs = parse(input, vhost, broker);
  await validate(broker, defs);
  await apply(broker, defs, log);
  return {
    users: defs.users.length,
    vhosts: defs.vhosts.length,
    permissions: defs.permissions.length,
    queues: defs.queues.length,
    exchanges: defs.exchanges.length,
    bindings: defs.bindings.length,
    skipped: defs.skipped,
  };
}

function parse(input: unknown, vhost: string | undefined, broker: Broker): Parsed {
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw new DefinitionsError("definitions must be a JSON object");
  const d = input as JsonObject;
  const section = (name: string): JsonObject[] => {
    const list = d[name];
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) throw new DefinitionsError(`'${name}' must be a list`);
    return list.map((item, i) => {
      if (item === null || typeof item !== "object" || Array.isArray(item)) throw new DefinitionsError(`${name}[${i}] must be an object`);
      return item;
    });
  };
  const scoped = vhost !== undefined;
  const vhostOf = (o: JsonObject, what: string) => vhost ?? str(o, "vhost", what);
  const users = scoped ? [] : section("users").map((u, i): UserDef => {
    const name = str(u, "name", `users[${i}]`);
    if (name === "") throw new DefinitionsError(`users[${i}]: 'name' must not be empty`);
    const what = `user '${name}'`;
    const algorithm = u.hashing_algorithm === undefined ? "rabbit_password_hashing_sha256" : str(u, "hashing_algorithm", what);
    if (!isHashingAlgorithm(algorithm)) throw new DefinitionsError(`${what}: unknown hashing_algorithm '${algorithm}'`);
    const hash = typeof u.password === "string"
      ? hashPassword(u.password, algorithm)
      : u.password_hash === undefined
      ? ""
      : str(u, "password_hash", what);
    try {
      checkPasswordHash(name, hash);
    } catch (err) {
      throw new DefinitionsError(`${what}: ${(err as Error).message}`);
    }
    const tags = Array.isArray(u.tags)
      ? u.tags.map(String)
      : typeof u.tags === "string"
      ? u.tags.split(",").map((t) => t.trim()).filter((t) => t !== "")
      : [];
    const limits = u.limits === undefined || u.limits === null ? undefined : obj(u, "limits", what) as Record<string, number>;
    if (limits !== undefined) {
      try {
        checkUserLimits(limits, name);
      } catch (err) {
        throw new DefinitionsError(`${what}: ${(err as Error).message}`);
      }
    }
    return { name, hash, algorithm, tags, limits };
  });
  const vhosts = scoped ? [] : section("vhosts").map((v, i) => str(v, "name", `vhosts[${i}]`));
  const permissions = scoped ? [] : section("permissions").map((p, i): PermissionDef => {
    const what = `permissions[${i}]`;
    const entry = {
      user: str(p, "user", what),
      vhost: str(p, "vhost", what),
      configure: str(p, "configure", what),
      write: str(p, "write", what),
      read: str(p, "read", what),
    };
    try {
      compilePermission(entry);
    } catch (err) {
      throw new DefinitionsError(`permission of user '${entry.user}' in vhost '${entry.vhost}': ${(err as Error).message}`);
    }
    return entry;
  });
  const topicPermissions = scoped ? [] : section("topic_permissions").map((p, i): TopicPermissionDef => {
    const what = `topic_permissions[${i}]`;
    const entry = {
      user: str(p, "user", what),
      vhost: str(p, "vhost", what),
      exchange: str(p, "exchange", what),
      write: str(p, "write", what),
      read: str(p, "read", what),
    };
    try {
      validateTopicPermission(entry);
    } catch (err) {
      throw new DefinitionsError(`topic permission of user '${entry.user}' in vhost '${entry.vhost}': ${(err as Error).message}`);
    }
    return entry;
  });
  const skipped: Record<string, number> = {};
  const operatorPolicies: Policy[] = [];
  const parameters = section("parameters").flatMap((p, i): ParameterDef[] => {
    const what = `parameters[${i}]`;
    const entry = {
      vhost: vhostOf(p, what),
      component: str(p, "component", what),
      name: str(p, "name", what),
      value: (p.value ?? null) as Json,
    };
    if (entry.component === OPERATOR_POLICY) {
      try {
        operatorPolicies.push(parsePolicy("operator_policy", entry.vhost, entry.name, (entry.value ?? {}) as unknown as PolicyBody));
      } catch (err) {
        throw new DefinitionsError(`operator policy '${entry.name}' in vhost '${entry.vhost}': ${(err as Error).message}`);
      }
      return [];
    }
    if (!broker.parameters.has(entry.component)) {
      skipped[`${entry.component} parameters`] = (skipped[`${entry.component} parameters`] ?? 0) + 1;
      return [];
    }
    try {
      broker.parameters.check(entry.vhost, entry.component, entry.name, entry.value);
    } catch (err) {
      throw new DefinitionsError(
        `parameter '${entry.name}' of component '${entry.component}' in vhost '${entry.vhost}': ${(err as Error).message}`,
      );
    }
    return [entry];
  });
  const globalParameters = scoped ? [] : section("global_parameters").map((g, i): GlobalParameterDef => (
    { name: str(g, "name", `global_parameters[${i}]`), value: (g.value ?? null) as Json }
  ));
  const policies = section("policies").map((p, i): Policy => {
    const name = str(p, "name", `policies[${i}]`);
    const policyVhost = vhostOf(p, `policy '${name}'`);
    try {
      return parsePolicy("policy", policyVhost, name, p as unknown as PolicyBody, broker.policyValidators);
    } catch (err) {
      throw new DefinitionsError(`policy '${name}' in vhost '${policyVhost}': ${(err as Error).message}`);
    }
  });
  const queues = section("queues").map((q, i): QueueDef => {
    const name = str(q, "name", `queues[${i}]`);
    const what = `queue '${name}'`;
    return {
      name,
      vhost: vhostOf(q, what),
      durable: bool(q, "durable", what, true),
      autoDelete: bool(q, "auto_delete", what, false),
      args: obj(q, "arguments", what),
    };
  });
  const exchanges = section("exchanges").map((x, i): ExchangeDef => {
    const name = str(x, "name", `exchanges[${i}]`);
    const what = `exchange '${name}'`;
    return {
      name,
      vhost: vhostOf(x, what),
      type: str(x, "type", what),
      durable: bool(x, "durable", what, true),
      autoDelete: bool(x, "auto_delete", what, false),
      internal: bool(x, "internal", what, false),
      args: obj(x, "arguments", what),
    };
  });
  const bindings = section("bindings").map((b, i): BindingDef => {
    const what = `bindings[${i}]`;
    const kind = str(b, "destination_type", what);
    if (kind !== "queue" && kind !== "exchange") throw new DefinitionsError(`${what}: destination_type must be "queue" or "exchange"`);
    return {
      source: str(b, "source", what),
      vhost: vhostOf(b, what),
      destination: str(b, "destination", what),
      kind,
      key: b.routing_key === undefined ? "" : str(b, "routing_key", what),
      args: obj(b, "arguments", what),
    };
  });
  return {
    users,
    vhosts,
    permissions,
    topicPermissions,
    parameters,
    globalParameters,
    policies,
    operatorPolicies,
    queues,
    exchanges,
    bindings,
    skipped,
  };
}

function str(o: JsonObject, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new DefinitionsError(`${what}: '${key}' must be a string`);
  return v;
}

function bool(o: JsonObject, key: string, what: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  throw new DefinitionsError(`${what}: '${key}' must be a boolean`);
}

function obj(o: JsonObject, key: string, what: string): JsonObject {
  const v = o[key];
  // `[]` is an empty object, as Erlang's JSON decoder reads it (an empty proplist).
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new DefinitionsError(`${what}: '${key}' must be an object`);
  return v;
}

/** Applies the entities to scratch copies of the vhosts they touch: any error names its entry. */
async function validate(broker: Broker, defs: Parsed): Promise<void> {
  const userNames = new Set([...defs.users.map((u) => u.name), ...listUsers(broker.users).map((u) => u.name)]);
  const vhostNames = new Set([...defs.vhosts, ...broker.vhosts.keys()]);
  for (const p of defs.permissions) {
    if (!userNames.has(p.user)) throw new DefinitionsError(`permission of user '${p.user}' in vhost '${p.vhost}': no such user`);
    if (!vhostNames.has(p.vhost)) throw new DefinitionsError(`permission of user '${p.user}' in vhost '${p.vhost}': no such vhost`);
  }
  for (const p of defs.topicPermissions) {
    if (!userNames.has(p.user) || !vhostNames.has(p.vhost)) {
      throw new DefinitionsError(`topic permission of user '${p.user}' in vhost '${p.vhost}': no such user or vhost`);
    }
  }
  for (const p of defs.policies) {
    if (!vhostNames.has(p.vhost)) throw new DefinitionsError(`policy '${p.name}' in vhost '${p.vhost}': no such vhost`);
  }
  for (const p of defs.operatorPolicies) {
    if (!vhostNames.has(p.vhost)) throw new DefinitionsError(`operator policy '${p.name}' in vhost '${p.vhost}': no such vhost`);
  }
  for (const p of defs.parameters) {
    if (!vhostNames.has(p.vhost)) {
      throw new DefinitionsError(`parameter '${p.name}' of component '${p.component}' in vhost '${p.vhost}': no such vhost`);
    }
  }
  const scratch = new Map<string, Vhost>();
  const resolve = (name: string, what: string): Vhost => {
    let v = scratch.get(name);
    if (v) return v;
    if (!vhostNames.has(name)) throw new DefinitionsError(`${what}: no vhost '${name}'`);
    const real = broker.vhosts.get(name);
    scratch.set(name, v = real ? copyOf(real) : new Vhost(name, detached(broker), null));
    return v;
  };
  try {
    await declareEntities(defs, resolve, broker);
  } finally {
    for (const v of scratch.values()) for (const q of v.queues.values()) q.stopTimers();
  }
}

/** A metadata-only copy of a vhost (exchanges and queues, no messages, nothing stored). */
function copyOf(real: Vhost): Vhost {
  const copy = new Vhost(real.name, {
    exchangeTypes: real.types,
    events: new BrokerEvents(),
    policyValidators: real.context.policyValidators,
  }, null);
  for (const x of real.exchanges.values()) {
    if (!copy.exchanges.has(x.name)) {
      copy.exchanges.set(x.name, new Exchange(x.vhost, x.name, x.exchangeType, x.durable, x.autoDelete, x.internal, x.args));
    }
  }
  for (const q of real.queues.values()) copy.queues.set(q.name, newQueue(q.vhost, q.name, q.durable, q.autoDelete, q.owner, q.args));
  return copy;
}

/** Queues, then exchanges, then bindings, as rabbit_definitions applies them. */
async function declareEntities(defs: Parsed, resolve: (name: string, what: string) => Vhost, owner: object): Promise<void> {
  let declared = 0;
  const pause = () => ++declared % DECLARED_PER_TURN === 0 ? turnEnds() : undefined;
  const attempt = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (err instanceof DefinitionsError) throw err;
      throw new DefinitionsError(`${what}: ${(err as Error).message}`);
    }
  };
  const args = (json: JsonObject, what: string) => {
    try {
      return jsonToTable(json);
    } catch (err) {
      throw new DefinitionsError(`${what}: ${err instanceof InvalidJson ? err.message : String(err)}`);
    }
  };
  for (const q of defs.queues) {
    const what = `queue '${q.name}' in vhost '${q.vhost}'`;
    attempt(
      what,
      () =>
        resolve(q.vhost, what).declareQueue({
          name: q.name,
          durable: q.durable,
          autoDelete: q.autoDelete,
          exclusive: false,
          args: args(q.args, what),
        }, owner),
    );
    await pause();
  }
  for (const x of defs.exchanges) {
    const what = `exchange '${x.name}' in vhost '${x.vhost}'`;
    attempt(what, () => resolve(x.vhost, what).declareExchange(x.name, x.type, x.durable, x.autoDelete, x.internal, args(x.args, what)));
    await pause();
  }
  for (const b of defs.bindings) {
    const what = `binding from exchange '${b.source}' to ${b.kind} '${b.destination}' in vhost '${b.vhost}'`;
    attempt(what, () => {
      const vhost = resolve(b.vhost, what);
      const source = vhost.exchange(b.source);
      const destination: Destination = b.kind === "queue" ? vhost.queue(b.destination) : vhost.exchange(b.destination);
      vhost.bind(source, destination, b.key, args(b.args, what));
    });
    await pause();
  }
}

async function apply(broker: Broker, defs: Parsed, log: ((line: string) => void) | undefined): Promise<void> {
  for (const u of defs.users) {
    broker.addUserWithHash(u.name, u.hash, u.algorithm, u.tags);
    if (u.limits !== undefined) broker.setUserLimits(u.name, u.limits);
  }
  if (defs.users.length > 0) log?.(`Importing concurrently ${defs.users.length} users...`);
  for (const name of defs.vhosts) broker.addVhost(name);
  if (defs.vhosts.length > 0) log?.(`Importing concurrently ${defs.vhosts.length} virtual hosts...`);
  for (const p of defs.permissions) broker.setPermissions(p.user, p.vhost, { configure: p.configure, write: p.write, read: p.read });
  if (defs.permissions.length > 0) log?.(`Importing sequentially ${defs.permissions.length} permissions...`);
  for (const p of defs.topicPermissions) broker.setTopicPermissions(p.user, p.vhost, p.exchange, p.write, p.read);
  if (defs.topicPermissions.length > 0) log?.(`Importing sequentially ${defs.topicPermissions.length} topic permissions...`);
  for (const p of defs.parameters) broker.parameters.set(broker.addVhost(p.vhost), p.component, p.name, p.value);
  if (defs.parameters.length > 0) log?.(`Importing sequentially ${defs.parameters.length} parameters...`);
  for (const g of defs.globalParameters) broker.globalParameters.set(g.name, g.value);
  if (defs.globalParameters.length > 0) log?.(`Importing sequentially ${defs.globalParameters.length} global runtime parameters...`);
  // Policies before queues and exchanges, as rabbit_definitions orders them.
  for (const p of defs.policies) {
    broker.addVhost(p.vhost).setPolicy("policy", p.name, {
      pattern: p.pattern,
      definition: p.definition,
      priority: p.priority,
      "apply-to": p.applyTo,
    });
  }
  if (defs.policies.length > 0) log?.(`Importing concurrently ${defs.policies.length} policies...`);
  for (const p of defs.operatorPolicies) {
    broker.addVhost(p.vhost).setPolicy("operator_policy", p.name, {
      pattern: p.pattern,
      definition: p.definition,
      priority: p.priority,
      "apply-to": p.applyTo,
    });
  }
  await declareEntities(defs, (name) => broker.addVhost(name), broker);
  if (defs.queues.length > 0) log?.(`Importing concurrently ${defs.queues.length} queues...`);
  if (defs.exchanges.length > 0) log?.(`Importing concurrently ${defs.exchanges.length} exchanges...`);
  if (defs.bindings.length > 0) log?.(`Importing concurrently ${defs.bindings.length} bindings...`);
  for (const [what, n] of Object.entries(defs.skipped)) log?.(`Skipping ${n} ${what}: Warren has no such component (plugin) yet`);
}

/** A scratch vhost's context: the real exchange types, events nobody hears (it only validates). */
function detached(broker: Broker): VhostContext {
  return { exchangeTypes: broker.exchangeTypes, events: new BrokerEvents(), policyValidators: broker.policyValidators };
}
