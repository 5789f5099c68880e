// The store's writer thread: its own SQLite connection applies the batches the event loop
// encodes (storage/batch_writer.ts). Batches that arrive while one is written are applied
// together, in one transaction. With fsync on, commits are synchronous=FULL: a batch reported
// durable is on disk. Started by storage/commit_writer.ts.
import { startupDone } from "../src/runtime/platform.ts";
import { openSqlite, type SqlDatabase } from "../src/runtime/sqlite.ts";
import { BatchWriter } from "./batch_writer.ts";
import { type FromWriter, Shared, type ToWriter, WriterState } from "./writer_protocol.ts";

/** The worker's global scope (the messages from the store arrive here). */
declare const self: { onmessage: ((event: MessageEvent<ToWriter>) => void) | null };

let db: SqlDatabase | undefined;
let writer: BatchWriter | undefined;
let shared: Int32Array | undefined;
/** A drain is scheduled; batch messages received since the last one. */
let draining = false;
let received = 0;

const post = (message: FromWriter) => postMessage(message);

function signal(slot: Shared, value?: number): void {
  if (value === undefined) Atomics.add(shared!, slot, 1);
  else Atomics.store(shared!, slot, value);
  Atomics.notify(shared!, slot);
  // Waiters on Applied also wake for a change of state or of the held flag.
  if (slot !== Shared.Applied) Atomics.notify(shared!, Shared.Applied);
}

/** Applies every batch queued so far, in one transaction. */
function drainQueued(): void {
  draining = false;
  writer?.drain();
  Atomics.add(shared!, Shared.Handled, received);
  received = 0;
  Atomics.notify(shared!, Shared.Applied);
}

function open(m: Extract<ToWriter, { type: "open" }>): void {
  shared = new Int32Array(m.shared);
  startupDone();
  try {
    db = openSqlite(m.path);
    db.exec("PRAGMA busy_timeout = 10000");
    db.exec(`PRAGMA synchronous = ${m.fsync ? "FULL" : "NORMAL"}`);
    for (const pragma of m.pragmas) db.exec(pragma);
    writer = new BatchWriter(db, {
      applied(id, released, moreToDrop) {
        if (Atomics.load(shared!, Shared.Held) !== 0) signal(Shared.Held, 0);
        // Durable as it is applied (FULL, or fsync off): counted first, so a reader that saw it
        // applied sees it durable too.
        signal(Shared.Durable);
        signal(Shared.Applied);
        post({ type: "durable", id, released, moreToDrop });
      },
      full(err) {
        signal(Shared.Held, 1);
        post({ type: "full", message: err.message });
      },
      fatal(err) {
        signal(Shared.State, WriterState.Failed);
        post({ type: "fatal", message: err.message });
      },
    }, m.retryMs);
  } catch (err) {
    post({ type: "fatal", message: (err as Error).message });
    signal(Shared.State, WriterState.Failed);
    return;
  }
  signal(Shared.State, WriterState.Open);
}

self.onmessage = (event: MessageEvent<ToWriter>) => {
  const m = event.data;
  switch (m.type) {
    case "open":
      return open(m);
    case "batch":
      // Batches that arrive while the last ones are written are applied together.
      writer?.enqueue(m.id, m.batch);
      received++;
      if (!draining) {
        draining = true;
        setImmediate(drainQueued);
      }
      return;
    case "retry":
      writer?.retry();
      signal(Shared.Handled);
      return;
    case "exec":
      try {
        db?.exec(m.sql);
      } finally {
        signal(Shared.Done);
      }
      return;
    case "close":
      writer?.stop();
      try {
        db?.close();
      } finally {
        db = undefined;
        signal(Shared.State, WriterState.Closed); // the loop waits on this, not on a message
      }
      return;
  }
};
