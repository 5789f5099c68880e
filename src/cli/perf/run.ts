// What every scenario shares: the options, the connections it opened (closed at the end, or
// terminated on failure), the first failure, Ctrl-C, and bounded waiting.
import { PerfConnection } from "./connection.ts";
import { ExitCode, PerfError } from "./errors.ts";
import type { PerfOptions } from "./options.ts";

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

export class Run {
  /** Marks this run's message bodies, so foreign messages in a shared queue are not timed. */
  readonly runId = 1 + Math.floor(Math.random() * 0xffff_fffe);
  /** Prefix of the names this run declares (and deletes). */
  readonly prefix = `perf-${process.pid}-${this.runId.toString(36)}`;
  failure: PerfError | undefined;
  /** Ctrl-C: stop publishing, finish and report what was measured. */
  interrupted = false;
  private readonly connections = new Set<PerfConnection>();
  private waiting: { done: (() => boolean) | undefined; drain: boolean; finish(met: boolean): void } | undefined;

  constructor(readonly opts: PerfOptions, readonly io: Io) {}

  /** A connection with channel 1 open; its failures fail the run. */
  async connect(name: string): Promise<PerfConnection> {
    const conn = await PerfConnection.open(this.opts.uri, `${this.prefix} ${name}`, this.opts.timeoutMs);
    conn.runId = this.runId;
    conn.onFailure = this.fail;
    this.connections.add(conn);
    return conn;
  }

  readonly fail = (error: PerfError): void => {
    this.failure ??= error;
    this.poke();
  };

  /** Throws the run's failure, if any. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  get stopping(): boolean {
    return this.failure !== undefined || this.interrupted;
  }

  /**
   * Waits until `done()` holds (true), `ms` pass (false), or the run fails or is interrupted
   * (false; a drain goes on when interrupted, so the counts still add up). No polling: the
   * condition is checked again when the flow pokes (once per socket chunk of deliveries or
   * confirms), on failure and on Ctrl-C — an idle timer would cost more CPU than the messages.
   */
  waitFor(ms: number, done?: () => boolean, drain = false): Promise<boolean> {
    if (done?.()) return Promise.resolve(true);
    if (ms <= 0 || (drain ? this.failure : this.stopping)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (met: boolean) => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(met);
      };
      const timer = setTimeout(() => finish(false), ms);
      this.waiting = { done, drain, finish };
    });
  }

  /** Something changed: re-check what waitFor waits for. */
  readonly poke = (): void => {
    const w = this.waiting;
    if (!w) return;
    if (w.done?.()) w.finish(true);
    else if (w.drain ? this.failure : this.stopping) w.finish(false);
  };

  /** Ctrl-C. */
  interrupt(): void {
    this.interrupted = true;
    this.poke();
  }

  /** An RPC with the run's timeout. */
  async rpc<T>(what: string, promise: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new PerfError(ExitCode.TIMEOUT, `${what}: no answer within ${this.opts.timeoutMs} ms`)),
            this.opts.timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes one connection politely and forgets it. */
  async close(conn: PerfConnection): Promise<void> {
    this.connections.delete(conn);
    await conn.close();
  }

  /** Closes every connection still open (politely unless the run failed). */
  async closeAll(): Promise<void> {
    const all = [...this.connections];
    this.connections.clear();
    if (this.failure) { for (const c of all) c.terminate(); }
    else await Promise.all(all.map((c) => c.close()));
  }
}
