// `queues`: declare N queues and bind each to one exchange, check the bindings route (one
// confirmed message per routing key, then a passive declare of every queue), delete them.
// Measures declare, bind and delete rates and latencies.
import { MethodId } from "../../../amqp/spec/methods.gen.ts";
import type { PerfConnection } from "../connection.ts";
import { ExitCode, PerfError } from "../errors.ts";
import { Histogram } from "../histogram.ts";
import { Publisher } from "../publisher.ts";
import { finish, group, type Result } from "../report.ts";
import type { Run } from "../run.ts";
import { bindQueue, call, declareExchange, declareQueue, deleteAll, deleteExchange, deleteQueue, queueDepth } from "../topology.ts";

/** Messages each queue should hold after one publish per routing key, by exchange type. */
function expectedDepth(type: string, queues: number): number | undefined {
  if (type === "direct" || type === "topic") return 1;
  if (type === "fanout" || type === "headers") return queues;
  return undefined; // other types (plugins) route by rules of their own
}

export async function runQueues(run: Run): Promise<Result> {
  const o = run.opts;
  const type = o.exchangeType ?? "direct";
  const exchange = o.exchange ?? `${run.prefix}-x`;
  const names: string[] = [];
  const declare = new Histogram();
  const bind = new Histogram();
  const remove = new Histogram();
  const rates: Record<string, number> = {};
  let routedOk: number | undefined;
  const ticker = o.quiet
    ? undefined
    : setInterval(() => run.io.stderr(`perf queues: ${group(names.length)} of ${group(o.queues)} declared\n`), 1000);
  let ctl: PerfConnection | undefined;
  try {
    ctl = await run.connect("control");
    await declareExchange(run, ctl, exchange, type);
    let t = performance.now();
    for (let i = 0; i < o.queues && !run.stopping; i++) {
      const queue = `${run.prefix}-q${i + 1}`;
      await declareQueue(run, ctl, queue, declare);
      names.push(queue);
      await bindQueue(run, ctl, queue, exchange, `k${i + 1}`, bind);
    }
    rates.declare_and_bind_s = (performance.now() - t) / 1000;
    const depth = expectedDepth(type, names.length);
    if (depth !== undefined && !run.stopping) routedOk = await checkRouting(run, ctl, exchange, names, depth);
    t = performance.now();
    while (names.length && !run.failure) await deleteQueue(run, ctl, names.pop()!, remove);
    rates.delete_s = (performance.now() - t) / 1000;
    if (o.exchange === undefined && !run.failure) await deleteExchange(run, ctl, exchange);
  } catch (err) {
    if (!(err instanceof PerfError)) throw err;
    run.fail(err);
  } finally {
    clearInterval(ticker);
  }
  await run.closeAll();
  const cleanup = names.length || run.failure ? await deleteAll(run, names, o.exchange === undefined ? exchange : undefined) : undefined;
  const declared = declare.count;
  if (!run.failure && routedOk !== undefined && routedOk < declared) {
    run.fail(
      new PerfError(ExitCode.MESSAGES, `${declared - routedOk} of ${declared} queues did not hold the messages their binding routes`),
    );
  }
  return finish({
    scenario: o.scenario,
    uri: o.uri.display,
    error: run.failure?.message,
    params: {
      queues: o.queues,
      exchange,
      exchange_type: type,
      durable: o.persistent,
      queue_args: Object.keys(o.queueArgs).length ? o.queueArgs : undefined,
    },
    metrics: {
      declared,
      bound: bind.count,
      // Queues declared and bound per second (two RPCs each, one after the other).
      declare_and_bind_rate: rate(bind.count, rates.declare_and_bind_s),
      declare_latency_us: declare.summary(),
      bind_latency_us: bind.summary(),
      routed_ok: routedOk,
      deleted: remove.count,
      delete_rate: rate(remove.count, rates.delete_s),
      delete_latency_us: remove.summary(),
      interrupted: run.interrupted || undefined,
      cleanup,
    },
  }, run.failure?.code ?? ExitCode.OK);
}

const rate = (n: number, secs: number | undefined) => (secs ? Math.round(n / secs) : 0);

/** One confirmed message per routing key, then how many queues hold `depth` messages. */
async function checkRouting(run: Run, ctl: PerfConnection, exchange: string, queues: string[], depth: number): Promise<number> {
  await call(run, ctl, "confirm.select", { id: MethodId.ConfirmSelect, nowait: false });
  const gate = { stopped: false, room: () => Infinity, inFlight: () => {}, refill: 1, progressed: run.poke };
  const keys = queues.map((_, i) => `k${i + 1}`);
  const publisher = new Publisher(
    ctl,
    { exchange, routingKeys: keys, size: 16, persistent: false, mandatory: false, confirmWindow: keys.length, rate: 0, limit: keys.length },
    gate,
    new Histogram(),
  );
  publisher.start();
  const confirmed = await run.waitFor(run.opts.timeoutMs, () => publisher.confirmed + publisher.nacked >= keys.length);
  if (!confirmed) {
    throw run.failure ?? new PerfError(ExitCode.MESSAGES, `${keys.length - publisher.confirmed} test publishes were not confirmed`);
  }
  let ok = 0;
  for (const queue of queues) if ((await queueDepth(run, ctl, queue)) === depth) ok++;
  return ok;
}
