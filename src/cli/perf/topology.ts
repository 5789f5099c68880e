// The exchanges, queues and bindings the scenarios use, declared on a control connection with
// the run's timeout, and (for the names a run made up) deleted again at the end — on a fresh
// connection when the run failed, so a broker-closed channel does not leave queues behind. The
// message-flow scenarios use one queue (`declareTopology`); `queues` declares many with the
// same calls.
import { type AmqpMethod, MethodId, type QueueDeclare } from "../../amqp/spec/methods.gen.ts";
import type { PerfConnection } from "./connection.ts";
import type { Histogram } from "./histogram.ts";
import type { Run } from "./run.ts";

export interface Topology {
  exchange: string;
  routingKeys: string[];
  queue: string;
  /** Names this run made up: deleted at the end. */
  ownQueue: boolean;
  ownExchange: boolean;
}

/** An RPC on channel 1 with the run's timeout; its round trip goes into `latency` when given (µs). */
export async function call(run: Run, conn: PerfConnection, what: string, method: AmqpMethod, latency?: Histogram): Promise<AmqpMethod> {
  const t = performance.now();
  const reply = await run.rpc(what, conn.rpc(1, method));
  latency?.record((performance.now() - t) * 1000);
  return reply;
}

export function declareQueue(run: Run, conn: PerfConnection, queue: string, latency?: Histogram): Promise<AmqpMethod> {
  const o = run.opts;
  return call(run, conn, `queue.declare "${queue}"`, queueDeclare(queue, false, o.persistent, o.queueArgs), latency);
}

export function declareExchange(run: Run, conn: PerfConnection, exchange: string, type: string): Promise<AmqpMethod> {
  return call(run, conn, `exchange.declare "${exchange}"`, {
    id: MethodId.ExchangeDeclare,
    ticket: 0,
    exchange,
    type,
    passive: false,
    durable: run.opts.persistent,
    autoDelete: false,
    internal: false,
    nowait: false,
    arguments: {},
  });
}

export function bindQueue(
  run: Run,
  conn: PerfConnection,
  queue: string,
  exchange: string,
  routingKey: string,
  latency?: Histogram,
): Promise<AmqpMethod> {
  const method = { id: MethodId.QueueBind, ticket: 0, queue, exchange, routingKey, nowait: false, arguments: {} } as const;
  return call(run, conn, `queue.bind "${queue}" to "${exchange}"`, method, latency);
}

export function deleteQueue(run: Run, conn: PerfConnection, queue: string, latency?: Histogram): Promise<AmqpMethod> {
  const method = { id: MethodId.QueueDelete, ticket: 0, queue, ifUnused: false, ifEmpty: false, nowait: false } as const;
  return call(run, conn, `queue.delete "${queue}"`, method, latency);
}

export function deleteExchange(run: Run, conn: PerfConnection, exchange: string): Promise<AmqpMethod> {
  const method = { id: MethodId.ExchangeDelete, ticket: 0, exchange, ifUnused: false, nowait: false } as const;
  return call(run, conn, `exchange.delete "${exchange}"`, method);
}

/** Messages in the queue now (passive declare). */
export async function queueDepth(run: Run, conn: PerfConnection, queue: string): Promise<number> {
  const ok = await call(run, conn, `queue.declare passive "${queue}"`, queueDeclare(queue, true, false, {}));
  return ok.id === MethodId.QueueDeclareOk ? ok.messageCount : NaN;
}

function queueDeclare(queue: string, passive: boolean, durable: boolean, args: QueueDeclare["arguments"]): QueueDeclare {
  return {
    id: MethodId.QueueDeclare,
    ticket: 0,
    queue,
    passive,
    durable,
    exclusive: false,
    autoDelete: false,
    nowait: false,
    arguments: args,
  };
}

/** The queue of a message-flow scenario, and its exchange and binding when the options ask for one. */
export async function declareTopology(run: Run, ctl: PerfConnection, bind: boolean): Promise<Topology> {
  const o = run.opts;
  const queue = o.queue ?? `${run.prefix}-q`;
  const ownQueue = o.queue === undefined;
  await declareQueue(run, ctl, queue);
  if (o.exchange === undefined && o.exchangeType === undefined) {
    return { exchange: "", routingKeys: o.routingKeys.length ? o.routingKeys : [queue], queue, ownQueue, ownExchange: false };
  }
  const exchange = o.exchange ?? `${run.prefix}-x`;
  const ownExchange = o.exchange === undefined;
  if (o.exchangeType !== undefined) await declareExchange(run, ctl, exchange, o.exchangeType);
  const routingKeys = o.routingKeys.length ? o.routingKeys : ["perf"];
  if (bind) await bindQueue(run, ctl, queue, exchange, o.bindingKey ?? routingKeys[0]!);
  return { exchange, routingKeys, queue, ownQueue, ownExchange };
}

/** Deletes what the run declared; best effort, on a new connection, never throws. */
export function removeTopology(run: Run, topology: Topology | undefined): Promise<string | undefined> {
  if (!topology) return Promise.resolve(undefined);
  return deleteAll(run, topology.ownQueue ? [topology.queue] : [], topology.ownExchange ? topology.exchange : undefined);
}

/**
 * Deletes `queues` and then `exchange` on a fresh connection (the run's may have been closed by
 * the broker). Best effort: returns what went wrong instead of throwing, and a failure here does
 * not fail the measured run.
 */
export async function deleteAll(run: Run, queues: string[], exchange: string | undefined): Promise<string | undefined> {
  if (queues.length === 0 && exchange === undefined) return undefined;
  let conn: PerfConnection | undefined;
  try {
    conn = await run.connect("cleanup");
    conn.onFailure = undefined;
    for (const queue of queues) await deleteQueue(run, conn, queue);
    if (exchange !== undefined) await deleteExchange(run, conn, exchange);
    return undefined;
  } catch (err) {
    return `cleanup failed: ${(err as Error).message}`;
  } finally {
    if (conn) await run.close(conn);
  }
}
