// The AMQP socket limit, as RabbitMQ's file_handle_cache computes it from the descriptor limit
// (RLIMIT_NOFILE): 97 descriptors kept back (its `Lim - 100 + 3`), then 90 % of the rest less 2,
// so 1,024 descriptors allow 832 sockets and 1,048,576 allow 943,629. What is left over is for
// the store (SQLite and its WAL), segment files, the HTTP listeners and their clients, and the
// runtime itself. A connection over the limit is closed as soon as it is accepted, so the
// descriptors never run out (when they do, Bun's accept loop spins and /proc cannot be read).
import type { Logger } from "../log.ts";

/** RabbitMQ's limit when the descriptor limit cannot be read (?FILE_HANDLES_LIMIT_OTHER). */
const UNKNOWN_FD_LIMIT = 1024;

/** file_handle_cache:init's file handle limit for a descriptor limit (0: unknown). */
export function fileHandlesFor(fdLimit: number): number {
  return fdLimit > 0 ? Math.max(2, fdLimit - 100 + 3) : UNKNOWN_FD_LIMIT;
}

/** file_handle_cache:obtain_limit: the sockets allowed for a descriptor limit (0: unknown). */
export function socketsLimitFor(fdLimit: number): number {
  return Math.max(0, Math.trunc(fileHandlesFor(fdLimit) * 0.9 - 2));
}

export class SocketLimit {
  /** Sockets refused since the limit was last reached (a burst), and in all. */
  private refusedInBurst = 0;
  refusedTotal = 0;

  constructor(readonly fdLimit: number, readonly total: number, private readonly log: Logger) {}

  /**
   * Whether one more AMQP connection may be accepted while `used` are open. A refusal is logged
   * once per burst (the first one), with the number refused when connections are taken again.
   */
  admit(used: number, peer: string): boolean {
    if (used < this.total) {
      if (this.refusedInBurst > 0) {
        this.log.warning(`accepting AMQP connections again: ${this.refusedInBurst} refused while at the socket limit (${this.total})`);
        this.refusedInBurst = 0;
      }
      return true;
    }
    if (this.refusedInBurst === 0) {
      this.log.warning(
        `refusing AMQP connection from ${peer}: the socket limit (${this.total} of ${
          this.fdLimit || "unknown"
        } file descriptors) is reached; ` +
          `further refusals are not logged until connections are accepted again`,
      );
    }
    this.refusedInBurst++;
    this.refusedTotal++;
    return false;
  }
}
