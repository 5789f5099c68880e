// `warren perf <scenario>`: the load tool beside the broker. runPerf parses the line, runs one
// scenario against any AMQP 0-9-1 broker and answers an exit code (errors.ts); it never exits
// the process, so tests call it in-process too.
import { ExitCode, PerfError } from "./errors.ts";
import { parsePerfArgs, type PerfOptions, USAGE } from "./options.ts";
import { finish, renderJson, renderTable, type Result } from "./report.ts";
import { type Io, Run } from "./run.ts";
import { runBacklog } from "./scenarios/backlog.ts";
import { runConnections } from "./scenarios/connections.ts";
import { runQueues } from "./scenarios/queues.ts";
import { runLatency, runThroughput } from "./scenarios/throughput.ts";

export { ExitCode } from "./errors.ts";
export type { Io } from "./run.ts";
export type { Result } from "./report.ts";

const SCENARIO_RUNNERS = {
  throughput: runThroughput,
  latency: runLatency,
  connections: runConnections,
  queues: runQueues,
  backlog: runBacklog,
} as const;

export function defaultIo(): Io {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
  };
}

export interface PerfControl {
  /** Set by runPerf: stop the run early and report what was measured (Ctrl-C). */
  interrupt?: () => void;
}

export async function runPerf(argv: string[], io: Io = defaultIo(), control: PerfControl = {}): Promise<number> {
  let opts: PerfOptions | "help";
  try {
    opts = parsePerfArgs(argv);
  } catch (err) {
    if (!(err instanceof PerfError)) throw err;
    io.stderr(`warren perf: ${err.message}\nRun 'warren perf --help' for the scenarios and options.\n`);
    return ExitCode.USAGE;
  }
  if (opts === "help") {
    io.stdout(USAGE + "\n");
    return ExitCode.OK;
  }
  const run = new Run(opts, io);
  control.interrupt = () => run.interrupt();
  // The hard limit: fail the run (scenarios notice within 20 ms), and stop waiting for them
  // altogether a little later should one hang on a dead socket.
  const limitMs = opts.maxSeconds * 1000;
  let limitTimer: ReturnType<typeof setTimeout> | undefined;
  const hardLimit = new Promise<Result>((resolve) => {
    limitTimer = setTimeout(() => {
      run.fail(new PerfError(ExitCode.TIMEOUT, `Hard time limit of ${opts.maxSeconds} s reached`));
      limitTimer = setTimeout(() => {
        void run.closeAll();
        resolve(
          finish(
            { scenario: opts.scenario, uri: opts.uri.display, error: run.failure!.message, params: {}, metrics: {} },
            ExitCode.TIMEOUT,
          ),
        );
      }, 5000);
    }, limitMs);
  });
  let result: Result;
  try {
    result = await Promise.race([SCENARIO_RUNNERS[opts.scenario](run), hardLimit]);
  } catch (err) {
    await run.closeAll();
    if (!(err instanceof PerfError)) throw err;
    result = finish({ scenario: opts.scenario, uri: opts.uri.display, error: err.message, params: {}, metrics: {} }, err.code);
  } finally {
    clearTimeout(limitTimer);
  }
  io.stdout(opts.json ? renderJson(result) : renderTable(result));
  if (!result.ok && !opts.json) io.stderr(`warren perf: ${result.error}\n`);
  return result.exit_code;
}
