// `connections`: open N connections one after another (handshake and channel.open each), hold
// them, check that all are still open, close them. Measures the open rate and latency.
import { ExitCode, PerfError } from "../errors.ts";
import type { PerfConnection } from "../connection.ts";
import { Histogram } from "../histogram.ts";
import { cpuMicros, finish, group, type Result } from "../report.ts";
import type { Run } from "../run.ts";

export async function runConnections(run: Run): Promise<Result> {
  const o = run.opts;
  const latency = new Histogram();
  const open: PerfConnection[] = [];
  const started = performance.now();
  const cpuBefore = cpuMicros();
  const ticker = o.quiet
    ? undefined
    : setInterval(() => run.io.stderr(`perf connections: ${group(open.length)} of ${group(o.connections)} open\n`), 1000);
  let openSeconds = NaN;
  let alive = 0;
  let closeSeconds = NaN;
  try {
    for (let i = 0; i < o.connections && !run.stopping; i++) {
      const t = performance.now();
      try {
        open.push(await run.connect(`connection ${i + 1}`));
      } catch (err) {
        if (!(err instanceof PerfError)) throw err;
        run.fail(new PerfError(err.code, `Connection ${i + 1} of ${o.connections} failed: ${err.message}`));
        break;
      }
      latency.record((performance.now() - t) * 1000);
    }
    openSeconds = (performance.now() - started) / 1000;
    const cpuOpen = cpuMicros() - cpuBefore;
    await run.waitFor(o.hold * 1000);
    alive = open.filter((c) => !c.failure).length;
    const closing = performance.now();
    await Promise.all(open.map((c) => run.close(c)));
    closeSeconds = (performance.now() - closing) / 1000;
    if (!run.failure && alive < open.length) {
      run.fail(
        new PerfError(ExitCode.BROKER_CLOSED, `${open.length - alive} of ${open.length} connections were closed by the broker while held`),
      );
    }
    return result(run, latency, open.length, openSeconds, alive, closeSeconds, cpuOpen);
  } finally {
    clearInterval(ticker);
    await run.closeAll();
  }
}

function result(
  run: Run,
  latency: Histogram,
  opened: number,
  openSeconds: number,
  alive: number,
  closeSeconds: number,
  cpuOpen: number,
): Result {
  const o = run.opts;
  return finish({
    scenario: o.scenario,
    uri: o.uri.display,
    error: run.failure?.message,
    params: { connections: o.connections, hold: o.hold },
    metrics: {
      opened,
      open_s: openSeconds,
      open_rate: Math.round(opened / openSeconds),
      open_latency_us: latency.summary(),
      alive_after_hold: alive,
      close_s: closeSeconds,
      client_cpu_us_per_connection: opened ? Math.round(cpuOpen / opened) : undefined,
      interrupted: run.interrupted || undefined,
    },
  }, run.failure?.code ?? ExitCode.OK);
}
