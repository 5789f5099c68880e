// Deno: the store writes on the event loop (../thread.ts is Bun's). Deno's workers would need
// their own module graph with the import map's Deno adapters; not measured, not used.

/** Whether the store's writer can run on a thread of its own. */
export const THREADS_SUPPORTED = false;

export function startThread(_url: URL, _embeddedPath: string): Worker {
  throw new Error("the store's writer thread is not available on Deno");
}
