// `backlog`: fill a queue with --messages X while nothing consumes (persistent, confirms 256 by
// default), check its depth, then drain it with one consumer. Measures both rates and the time
// to the first delivery of a full queue.
import { ExitCode, PerfError } from "../errors.ts";
import { consumeSpec, Flow, publishSpec, type Snapshot } from "../flow.ts";
import { finish, group, type Result } from "../report.ts";
import type { Run } from "../run.ts";
import { declareTopology, queueDepth, type Topology } from "../topology.ts";

export async function runBacklog(run: Run): Promise<Result> {
  const o = run.opts;
  const flow = new Flow(run, 0);
  const phaseMs = (o.maxSeconds * 1000) / 2;
  let topology: Topology | undefined;
  let cleanup: string | undefined;
  let depthBefore = 0;
  let depthFull: number | undefined;
  let fill: { s: number; cpu: number; at: Snapshot } | undefined;
  let drain: { s: number; firstMs: number; cpu: number } | undefined;
  try {
    const ctl = await run.connect("control");
    topology = await declareTopology(run, ctl, true);
    depthBefore = await queueDepth(run, ctl, topology.queue);
    const producers = Math.max(1, o.producers);
    for (let i = 0; i < producers; i++) {
      const limit = Math.floor(o.messages / producers) + (i < o.messages % producers ? 1 : 0);
      await flow.addPublishers(1, publishSpec(o, topology, limit));
    }
    flow.startProgress();
    const a = flow.snapshot();
    flow.start();
    const filled = await run.waitFor(phaseMs, () => flow.published >= o.messages && flow.outstanding === 0);
    const b = flow.snapshot();
    fill = { s: (b.at - a.at) / 1000, cpu: b.cpu - a.cpu, at: b };
    if (!filled) run.check();
    // Without confirms the broker may still be routing the tail: wait (bounded) for the depth.
    const expected = depthBefore + flow.published - flow.returned;
    let depth = await queueDepth(run, ctl, topology.queue);
    const settle = performance.now() + o.drain * 1000;
    while (depth < expected && performance.now() < settle && !run.stopping) {
      await new Promise((r) => setTimeout(r, 50));
      depth = await queueDepth(run, ctl, topology.queue);
    }
    depthFull = depth;
    await run.close(ctl);
    const c = flow.snapshot();
    await flow.addConsumers(1, consumeSpec(o, topology));
    const all = () => flow.consumed + flow.foreign >= depth;
    await run.waitFor(phaseMs, all);
    flow.ackAll();
    const d = flow.snapshot();
    const first = flow.consumers[0]!.firstAt;
    drain = { s: (d.at - c.at) / 1000, firstMs: first - c.at, cpu: d.cpu - c.cpu };
  } catch (err) {
    if (!(err instanceof PerfError)) throw err;
    run.fail(err);
  } finally {
    cleanup = await flow.end(topology); // on a bug too: no progress timer or connection is left behind
  }
  let failure = run.failure ?? (run.interrupted ? undefined : flow.accountingProblem(true));
  if (!failure && !run.interrupted && depthFull !== undefined && depthFull !== depthBefore + flow.published - flow.returned) {
    failure = new PerfError(
      ExitCode.MESSAGES,
      `queue held ${group(depthFull)} messages after publishing ${group(flow.published)}, expected ${
        group(depthBefore + flow.published - flow.returned)
      }`,
    );
  }
  const consumed = flow.consumed;
  return finish({
    scenario: o.scenario,
    uri: o.uri.display,
    error: failure?.message,
    params: {
      messages: o.messages,
      producers: Math.max(1, o.producers),
      size: o.size,
      persistent: o.persistent,
      confirm: o.confirm,
      queue: topology?.queue,
      prefetch: o.autoAck ? undefined : o.prefetch,
      ack: o.autoAck ? "auto" : "manual",
      queue_args: Object.keys(o.queueArgs).length ? o.queueArgs : undefined,
    },
    metrics: {
      published: flow.published,
      confirmed: o.confirm > 0 ? flow.confirmed : undefined,
      nacked: o.confirm > 0 ? flow.nacked : undefined,
      publish_s: fill?.s,
      publish_rate: fill ? Math.round(flow.published / fill.s) : undefined,
      confirm_latency_us: flow.confirmLatency.summary(),
      queue_depth: depthFull,
      consumed,
      foreign: flow.foreign || undefined,
      drain_s: drain?.s,
      drain_rate: drain ? Math.round((consumed + flow.foreign) / drain.s) : undefined,
      drain_first_message_ms: drain && drain.firstMs >= 0 ? drain.firstMs : undefined,
      client_cpu_us_per_msg: fill && drain && flow.published + consumed > 0
        ? (fill.cpu + drain.cpu) / (flow.published + consumed)
        : undefined,
      interrupted: run.interrupted || undefined,
      cleanup,
    },
  }, failure?.code ?? ExitCode.OK);
}
