// Busy waiting after socket reads (opt-in: --busy-wait-us, docs/performance.md "Busy waiting").
// On a virtual machine, sleeping in epoll and being woken by the next packet costs tens of µs
// of kernel time per wake-up; a request/reply client (one message in flight) pays it on every
// round trip. While the window is open the event loop keeps polling instead of sleeping
// (setImmediate polls the sockets without blocking), as LavinMQ's scheduler and the Erlang VM
// under RabbitMQ (+sbwt) do by default. The price is CPU: a steady stream of messages closer
// together than the window keeps one core busy.

// The loop is the process's: with several brokers in one process (tests, embedding) the widest
// window of those that asked for one applies.
const requested: number[] = [];
let windowMs = 0;
let lastReadAt = 0;
let polling = false;

/**
 * Keep the loop polling for `us` microseconds after each socket read, until the returned
 * function is called (the broker's stop).
 */
export function requestBusyWait(us: number): () => void {
  requested.push(us);
  windowMs = Math.max(...requested) / 1000;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    requested.splice(requested.indexOf(us), 1);
    windowMs = requested.length === 0 ? 0 : Math.max(...requested) / 1000;
  };
}

/** A socket read arrived (the Bun listener calls this for every chunk). */
export function noteSocketRead(): void {
  if (windowMs === 0) return;
  lastReadAt = performance.now();
  if (polling) return;
  polling = true;
  setImmediate(poll);
}

function poll(): void {
  if (performance.now() - lastReadAt < windowMs) setImmediate(poll);
  else polling = false;
}

/** Whether the loop is polling now (tests). */
export function busyWaiting(): boolean {
  return polling;
}
