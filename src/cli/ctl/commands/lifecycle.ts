// ping and await_startup: is the broker up? For health checks (docker compose, Kubernetes) and
// scripts that start a broker and wait for it, as rabbitmqctl's (there over Erlang
// distribution, here over the management API, which starts last: "Server startup complete").
import { ApiClient, UnreachableError } from "../client.ts";
import type { Command, Context } from "../command.ts";
import { CtlError, ExitCode } from "../errors.ts";

/** How long await_startup waits between attempts while nothing answers. */
const RETRY_MS = 250;

async function ping(api: ApiClient): Promise<string> {
  return (await api.node()) ?? `${api.connection.host}:${api.connection.port}`;
}

export const LIFECYCLE_COMMANDS: Command[] = [
  {
    name: "ping",
    group: "Node health",
    summary: "Checks that the broker is running and its management API answers",
    usage: "",
    arity: [0, 0],
    details: "Exits 0 when Warren answers at --host/--port, 69 when nothing (or another product) answers there,\n" +
      '77 when it refuses the credentials. A compose healthcheck: test: ["CMD", "warren", "ctl", "ping"]',
    async run(ctx: Context) {
      const where = `${ctx.api.connection.host}:${ctx.api.connection.port}`;
      ctx.out.info(
        `Will ping ${where}. This checks that the broker runs and its management API answers. Timeout: ${ctx.api.connection.timeoutMs} ms.`,
      );
      await ping(ctx.api);
      ctx.out.write("Ping succeeded\n");
    },
  },
  {
    name: "await_startup",
    group: "Node health",
    summary: "Waits for the broker to finish starting",
    usage: "",
    arity: [0, 0],
    details: "Retries until Warren answers at --host/--port or --timeout (default 60 s) has passed (exit 75).\n" +
      "Wrong credentials (77) or another product on the port (69) end the wait at once.",
    async run(ctx: Context) {
      const { connection } = ctx.api;
      const deadline = connection.timeoutMs > 0 ? Date.now() + connection.timeoutMs : Infinity;
      const where = `${connection.host}:${connection.port}`;
      ctx.out.info(`Will wait for the broker at ${where} to start (timeout: ${connection.timeoutMs} ms)...`);
      for (;;) {
        // A fresh client per attempt: each asks the server who it is again.
        const left = deadline - Date.now();
        const attempt = new ApiClient({ ...connection, timeoutMs: Number.isFinite(left) ? Math.max(1, left) : 0 });
        try {
          await ping(attempt);
          ctx.out.info(`The broker at ${where} has started.`);
          return;
        } catch (err) {
          // Not up yet: nothing listens, or the request timed out. Anything else ends the wait.
          const notYet = err instanceof UnreachableError || (err instanceof CtlError && err.code === ExitCode.TEMPFAIL);
          if (!notYet) throw err;
          if (Date.now() + RETRY_MS >= deadline) {
            throw new CtlError(ExitCode.TEMPFAIL, `the broker at ${where} did not start within ${connection.timeoutMs} ms`);
          }
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    },
  },
];
