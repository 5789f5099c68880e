// The retained messages new subscriptions receive, sent a slice per turn and only while the
// connection's output is not backed up (it resumes when the output drains). A '#' subscription over
// 50,000 retained messages wrote them all in one turn: every other connection waited 175 ms, and a
// slow client's output buffered them all.
import type { RetainedEntry, RetainedMessage, RetainedStore } from "./retained.ts";

/** Retained messages sent per turn. */
const PER_TURN = 256;

/** The connection the messages go to. */
export interface RetainedTarget {
  /** Whether the connection is still open. */
  isOpen(): boolean;
  /** Whether its output can take more now. */
  isWritable(): boolean;
  /** Sends one retained message at the subscription's granted QoS (at most). */
  send(message: RetainedMessage, grantedQos: number): void;
}

interface Job {
  readonly entries: RetainedEntry[];
  readonly grantedQos: number;
  next: number;
}

export class RetainedSender {
  private readonly jobs: Job[] = [];
  /** Messages this turn may still send. */
  private budget = PER_TURN;
  private scheduled = false;

  constructor(private readonly store: RetainedStore, private readonly vhost: string, private readonly target: RetainedTarget) {}

  /** Queues a subscription's matching messages; the first slice goes out now. */
  add(entries: RetainedEntry[], grantedQos: number): void {
    if (entries.length === 0) return;
    this.jobs.push({ entries, grantedQos, next: 0 });
    this.pump();
  }

  /** Sends what this turn's slice allows (the output calls it when it drains). */
  pump(): void {
    this.send(true);
  }

  private send(mayLookNextTurn: boolean): void {
    let sent = 0;
    while (this.jobs.length > 0) {
      if (!this.target.isOpen()) {
        this.jobs.length = 0;
        return;
      }
      if (!this.target.isWritable()) {
        // The output may hand all it holds to the kernel at the end of this turn, and then no drain
        // follows: look again next turn. Still backed up then, with nothing sent since: the kernel
        // holds the rest, and its drain calls pump().
        if (mayLookNextTurn || sent > 0) this.nextTurn(false);
        return;
      }
      if (this.budget === 0) {
        this.nextTurn(true);
        return;
      }
      this.budget--;
      const job = this.jobs[0]!;
      const entry = job.entries[job.next++]!;
      if (job.next === job.entries.length) this.jobs.shift();
      const message = this.store.load(this.vhost, entry);
      if (message !== undefined) this.target.send(message, job.grantedQos);
      sent++;
    }
  }

  private nextTurn(mayLookNextTurn: boolean): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.budget = PER_TURN;
      this.send(mayLookNextTurn);
    });
  }
}
