// The retained messages new subscriptions receive, sent a slice per turn and only while the
// connection's output is not backed up (the output's onWritable resumes it). A '#' subscription over
// 50,000 retained messages wrote them all in one turn: every other connection waited 175 ms, and a
// slow client's output buffered them all.
import { TurnBudget } from "../../src/broker/turn_budget.ts";
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
  private readonly budget = new TurnBudget(PER_TURN);
  private scheduled = false;

  constructor(private readonly store: RetainedStore, private readonly vhost: string, private readonly target: RetainedTarget) {}

  /** Queues a subscription's matching messages; the first slice goes out now. */
  add(entries: RetainedEntry[], grantedQos: number): void {
    if (entries.length === 0) return;
    this.jobs.push({ entries, grantedQos, next: 0 });
    this.pump();
  }

  /** Sends what this turn's slice allows; the rest next turn, or when the output can take more. */
  pump(): void {
    while (this.jobs.length > 0) {
      if (!this.target.isOpen()) {
        this.jobs.length = 0;
        return;
      }
      if (!this.target.isWritable()) return; // the output's onWritable calls pump()
      if (!this.budget.take()) {
        this.nextTurn();
        return;
      }
      const job = this.jobs[0]!;
      const entry = job.entries[job.next++]!;
      if (job.next === job.entries.length) this.jobs.shift();
      const message = this.store.load(this.vhost, entry);
      if (message !== undefined) this.target.send(message, job.grantedQos);
    }
  }

  private nextTurn(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }
}
