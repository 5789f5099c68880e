// Exit codes of `warren perf`, one per kind of failure, so scripts can tell them apart.

export const ExitCode = {
  OK: 0,
  /** Something unexpected (a bug): the message says what. */
  INTERNAL: 1,
  /** Bad command line. */
  USAGE: 2,
  /** Could not connect: refused, unreachable, TLS, authentication or vhost refused, handshake timeout. */
  CONNECT: 3,
  /** The broker closed a channel or the connection during the run (its reply code and text are shown). */
  BROKER_CLOSED: 4,
  /** The run finished but messages were not accounted for: nacked, returned, lost, wrong queue depth. */
  MESSAGES: 5,
  /** The hard time limit (--max-seconds) ran out, or an RPC got no answer in time. */
  TIMEOUT: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure that ends the run with `code`. */
export class PerfError extends Error {
  constructor(readonly code: ExitCode, message: string) {
    super(message);
    this.name = "PerfError";
  }
}

export class PerfUsageError extends PerfError {
  constructor(message: string) {
    super(ExitCode.USAGE, message);
  }
}
