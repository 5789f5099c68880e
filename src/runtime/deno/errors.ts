// Deno's listen errors are classes (Deno.errors.AddrInUse); listen_error.ts reads Node-style
// codes ("EADDRINUSE"). This gives the error the code its class stands for.

const CODES: [new (...args: never[]) => Error, string][] = [
  [Deno.errors.AddrInUse, "EADDRINUSE"],
  [Deno.errors.AddrNotAvailable, "EADDRNOTAVAIL"],
  [Deno.errors.PermissionDenied, "EACCES"],
];

/** Runs `listen`; a Deno error thrown by it gets the matching `code`. */
export function withErrorCode<T>(listen: () => T): T {
  try {
    return listen();
  } catch (err) {
    const match = CODES.find(([type]) => err instanceof type);
    if (match && (err as { code?: unknown }).code === undefined) Object.assign(err as Error, { code: match[1] });
    throw err;
  }
}
