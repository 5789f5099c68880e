// `throughput`: producers → one queue → consumers for a warm-up and a measured window, then a
// bounded drain. `latency`: the same pipeline with one message in flight (or a fixed rate), so
// the delivery latency is the broker's, not a queue's.
import { ExitCode, PerfError } from "../errors.ts";
import { consumeSpec, Flow, publishSpec, type Snapshot, windowMetrics } from "../flow.ts";
import { finish, type Result } from "../report.ts";
import type { Run } from "../run.ts";
import { declareTopology, type Topology } from "../topology.ts";

export async function runThroughput(run: Run): Promise<Result> {
  return await runFlow(run, false);
}

export async function runLatency(run: Run): Promise<Result> {
  return await runFlow(run, true);
}

async function runFlow(run: Run, latencyMode: boolean): Promise<Result> {
  const o = run.opts;
  const consumers = latencyMode ? 1 : o.consumers;
  const producers = latencyMode ? 1 : o.producers;
  // Latency: one message in flight unless a fixed rate is asked for.
  const maxBacklog = latencyMode ? (o.rate > 0 ? 0 : 1) : consumers > 0 ? o.maxBacklog : 0;
  const flow = new Flow(run, maxBacklog);
  let topology: Topology | undefined;
  let cleanup: string | undefined;
  let window: Record<string, number> | undefined;
  let drained = false;
  try {
    const ctl = await run.connect("control");
    topology = await declareTopology(run, ctl, consumers > 0);
    await run.close(ctl);
    await flow.addConsumers(consumers, consumeSpec(o, topology));
    await flow.addPublishers(producers, publishSpec(o, topology, latencyMode ? o.count : 0));
    flow.startProgress();
    flow.start();
    if (o.warmup > 0) {
      await run.waitFor(o.warmup * 1000);
      flow.latency.reset();
      flow.confirmLatency.reset();
    }
    const from: Snapshot = flow.snapshot();
    const enough = latencyMode && o.count > 0 ? () => flow.consumed >= o.count : undefined;
    await run.waitFor(o.seconds * 1000, enough);
    const to = flow.snapshot();
    flow.stopPublishing();
    if (!run.failure) window = windowMetrics(from, to);
    drained = await run.waitFor(o.drain * 1000, () => flow.settled(), true);
    flow.ackAll();
  } catch (err) {
    if (!(err instanceof PerfError)) throw err;
    run.fail(err);
  } finally {
    cleanup = await flow.end(topology); // on a bug too: no progress timer or connection is left behind
  }
  const failure = run.failure ?? flow.accountingProblem(true);
  const metrics: Result["metrics"] = {
    ...(latencyMode ? { roundtrips: flow.consumed, roundtrip_rate: window?.consume_rate } : {}),
    published: flow.published,
    confirmed: o.confirm > 0 ? flow.confirmed : undefined,
    nacked: o.confirm > 0 ? flow.nacked : undefined,
    unconfirmed: o.confirm > 0 ? flow.outstanding : undefined,
    returned: o.mandatory ? flow.returned : undefined,
    consumed: consumers > 0 ? flow.consumed : undefined,
    foreign: flow.foreign || undefined,
    redelivered: consumers > 0 ? flow.redelivered : undefined,
    ...(window && !latencyMode ? { publish_rate: window.publish_rate } : {}),
    ...(window && o.confirm > 0 ? { confirm_rate: window.confirm_rate } : {}),
    ...(window && consumers > 0 && !latencyMode ? { consume_rate: window.consume_rate } : {}),
    latency_us: flow.latency.summary(),
    confirm_latency_us: flow.confirmLatency.summary(),
    drained: consumers > 0 && !run.failure ? drained && flow.consumed + flow.returned >= flow.published : undefined,
    duration_s: window?.duration_s,
    client_cpu_pct: window?.client_cpu_pct,
    client_cpu_us_per_msg: window?.client_cpu_us_per_msg,
    interrupted: run.interrupted || undefined,
    cleanup,
  };
  return finish({
    scenario: o.scenario,
    uri: o.uri.display,
    error: failure?.message,
    params: {
      producers,
      consumers,
      size: o.size,
      persistent: o.persistent,
      confirm: o.confirm,
      prefetch: o.autoAck ? undefined : o.prefetch,
      ack: o.autoAck ? "auto" : "manual",
      multi_ack: o.autoAck ? undefined : o.multiAck,
      rate: o.rate || undefined,
      max_backlog: maxBacklog,
      queue: topology?.queue,
      queue_args: Object.keys(o.queueArgs).length ? o.queueArgs : undefined,
      exchange: topology?.exchange,
      exchange_type: o.exchangeType,
      routing_keys: topology?.routingKeys.join(","),
      seconds: o.seconds,
      warmup: o.warmup || undefined,
      count: o.count || undefined,
    },
    metrics,
  }, failure?.code ?? ExitCode.OK);
}
