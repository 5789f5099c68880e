// The exchange, queue and binding a message-flow scenario uses, declared on a control connection
// and (for the names the run made up) deleted again at the end — on a fresh connection when the
// run failed, so a broker-closed channel does not leave queues behind.
import { MethodId } from "../../amqp/spec/methods.gen.ts";
import type { PerfConnection } from "./connection.ts";
import { PerfError } from "./errors.ts";
import type { Run } from "./run.ts";

export interface Topology {
  exchange: string;
  routingKeys: string[];
  queue: string;
  /** Names this run made up: deleted at the end. */
  ownQueue: boolean;
  ownExchange: boolean;
}

export async function declareTopology(run: Run, ctl: PerfConnection, bindQueue: boolean): Promise<Topology> {
  const o = run.opts;
  const queue = o.queue ?? `${run.prefix}-q`;
  const ownQueue = o.queue === undefined;
  await run.rpc(
    `queue.declare "${queue}"`,
    ctl.rpc(1, {
      id: MethodId.QueueDeclare,
      ticket: 0,
      queue,
      passive: false,
      durable: o.persistent,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: o.queueArgs,
    }),
  );
  if (o.exchange === undefined && o.exchangeType === undefined) {
    return { exchange: "", routingKeys: o.routingKeys.length ? o.routingKeys : [queue], queue, ownQueue, ownExchange: false };
  }
  const exchange = o.exchange ?? `${run.prefix}-x`;
  const ownExchange = o.exchange === undefined;
  if (o.exchangeType !== undefined) {
    await run.rpc(
      `exchange.declare "${exchange}"`,
      ctl.rpc(1, {
        id: MethodId.ExchangeDeclare,
        ticket: 0,
        exchange,
        type: o.exchangeType,
        passive: false,
        durable: o.persistent,
        autoDelete: false,
        internal: false,
        nowait: false,
        arguments: {},
      }),
    );
  }
  const routingKeys = o.routingKeys.length ? o.routingKeys : ["perf"];
  if (bindQueue) {
    await run.rpc(
      `queue.bind "${queue}" to "${exchange}"`,
      ctl.rpc(1, {
        id: MethodId.QueueBind,
        ticket: 0,
        queue,
        exchange,
        routingKey: o.bindingKey ?? routingKeys[0]!,
        nowait: false,
        arguments: {},
      }),
    );
  }
  return { exchange, routingKeys, queue, ownQueue, ownExchange };
}

/** Messages in the queue now (passive declare). */
export async function queueDepth(run: Run, ctl: PerfConnection, queue: string): Promise<number> {
  const ok = await run.rpc(
    `queue.declare passive "${queue}"`,
    ctl.rpc(1, {
      id: MethodId.QueueDeclare,
      ticket: 0,
      queue,
      passive: true,
      durable: false,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: {},
    }),
  );
  return ok.id === MethodId.QueueDeclareOk ? ok.messageCount : NaN;
}

/** Deletes what the run declared; best effort, on a new connection, never throws. */
export async function removeTopology(run: Run, topology: Topology | undefined): Promise<string | undefined> {
  if (!topology || (!topology.ownQueue && !topology.ownExchange)) return undefined;
  let conn: PerfConnection | undefined;
  try {
    conn = await run.connect("cleanup");
    conn.onFailure = undefined; // a failure here must not fail the measured run
    if (topology.ownQueue) {
      await run.rpc(
        "queue.delete",
        conn.rpc(1, { id: MethodId.QueueDelete, ticket: 0, queue: topology.queue, ifUnused: false, ifEmpty: false, nowait: false }),
      );
    }
    if (topology.ownExchange) {
      await run.rpc(
        "exchange.delete",
        conn.rpc(1, { id: MethodId.ExchangeDelete, ticket: 0, exchange: topology.exchange, ifUnused: false, nowait: false }),
      );
    }
    return undefined;
  } catch (err) {
    return `cleanup failed: ${err instanceof PerfError ? err.message : String(err)}`;
  } finally {
    if (conn) await run.close(conn);
  }
}
