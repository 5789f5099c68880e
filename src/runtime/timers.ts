// Timers that never keep the process alive on their own.

export interface Timer {
  cancel(): void;
}

export function every(ms: number, fn: () => void): Timer {
  const handle = setInterval(fn, ms);
  handle.unref();
  return { cancel: () => clearInterval(handle) };
}

export function after(ms: number, fn: () => void): Timer {
  const handle = setTimeout(fn, ms);
  handle.unref();
  return { cancel: () => clearTimeout(handle) };
}

/** Runs `fn` on the next turn of the event loop, after pending I/O. */
export function nextTurn(fn: () => void): void {
  setImmediate(fn);
}

/** Resolves on the next turn: bulk work awaits it between slices so other connections run. */
export function turnEnds(): Promise<void> {
  return new Promise((resolve) => nextTurn(resolve));
}
