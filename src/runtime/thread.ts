// Threads (Web Workers) on Bun: the store's writer runs in one (storage/commit_writer.ts).
// src/runtime/deno/thread.ts says Deno has none here, and the store writes on the event loop.

/** Whether the store's writer can run on a thread of its own. */
export const THREADS_SUPPORTED = true;

/** `dist/warren`'s modules live in its embedded file system, named from the repository root. */
const EMBEDDED = import.meta.url.startsWith("file:///$bunfs/");

/**
 * Starts a module on a new thread: `url` when running from source, `embeddedPath` (the module's
 * path from the repository root, an entry point of scripts/build.ts) inside `dist/warren`.
 */
export function startThread(url: URL, embeddedPath: string): Worker {
  return new Worker(EMBEDDED ? embeddedPath : url.href);
}
