// Names a listener that could not start: which one, on which address and port, and why in
// words ("address in use"), instead of the runtime's bare "Failed to listen at ::".

/** The reasons a listen fails that a user can act on, by the runtime's error code. */
const REASONS: Record<string, string> = {
  EADDRINUSE: "address in use (another program, perhaps RabbitMQ or another Warren, listens on that port)",
  EADDRNOTAVAIL: "address not available (no interface of this host has that address)",
  EACCES: "permission denied (ports below 1024 need privileges)",
};

export class ListenError extends Error {
  constructor(
    readonly listener: string,
    readonly hostname: string,
    readonly port: number,
    readonly code: string | undefined,
    reason: string,
  ) {
    super(`${listener} listener on ${formatHostPort(hostname, port)}: ${reason}`);
  }
}

/** Runs `listen`; a failure becomes a ListenError naming `listener` ("AMQP", "HTTP", …), address and port. */
export function listening<T>(listener: string, hostname: string, port: number, listen: () => T): T {
  try {
    return listen();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const known = typeof code === "string" ? REASONS[code] : undefined;
    const reason = known ?? `${(err as Error).message ?? err}${typeof code === "string" ? ` (${code})` : ""}`;
    throw new ListenError(listener, hostname, port, typeof code === "string" ? code : undefined, reason);
  }
}

function formatHostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
