// Starting and checking a broker from the command line: `warren --help` and `--version`,
// `warren ctl ping` and `await_startup` (health checks), the closest-command hint, and ctl
// refusing to manage a server that is not Warren (another product on the port).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { runCtl } from "../../src/cli/ctl/mod.ts";
import { VERSION } from "../../src/version.ts";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";

const run = promisify(execFile);
const main = join(import.meta.dir, "../../src/main.ts");

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker();
});
afterAll(async () => {
  await tb.stop();
});

async function ctl(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCtl(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: async () => "",
    env: {},
  });
  return { code, stdout, stderr };
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An HTTP server answering every request with `body` (as JSON when an object). */
function fakeServer(status: number, body: unknown): { port: number; stop(): void } {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () =>
      typeof body === "string" ? new Response(body, { status, headers: { "content-type": "text/html" } }) : Response.json(body, { status }),
  });
  return { port: server.port!, stop: () => void server.stop(true) };
}

describe("warren (the server command line)", () => {
  test("--help names warren ctl and --version", async () => {
    const { stdout } = await run(process.execPath, [main, "--help"]);
    expect(stdout).toContain("warren ctl <command>");
    expect(stdout).toContain("warren --version");
  });

  test("--version and -V print the version", async () => {
    expect((await run(process.execPath, [main, "--version"])).stdout).toBe(`warren ${VERSION}\n`);
    expect((await run(process.execPath, [main, "-V"])).stdout).toBe(`warren ${VERSION}\n`);
  });
});

describe("warren ctl ping and await_startup", () => {
  test("ping succeeds against a running Warren", async () => {
    const r = await ctl(["--port", String(tb.httpPort), "ping"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toEndWith("Ping succeeded\n");
    expect((await ctl(["--port", String(tb.httpPort), "-q", "ping"])).stdout).toBe("Ping succeeded\n");
  });

  test("ping exits 69 when nothing listens, 77 with wrong credentials", async () => {
    const port = await closedPort();
    const down = await ctl(["--port", String(port), "ping"]);
    expect(down.code).toBe(69);
    expect(down.stderr).toContain(`127.0.0.1:${port}`);
    expect((await ctl(["--port", String(tb.httpPort), "--password", "nope", "ping"])).code).toBe(77);
  });

  test("await_startup returns once the broker answers, even when it starts after the wait began", async () => {
    const port = await closedPort();
    const waiting = ctl(["--port", String(port), "--timeout", "20", "await_startup"]);
    const late = await startTestBroker({ httpPort: port });
    try {
      const r = await waiting;
      expect(r).toMatchObject({ code: 0, stderr: "" });
    } finally {
      await late.stop();
    }
  });

  test("await_startup gives up with 75 after --timeout when nothing starts", async () => {
    const port = await closedPort();
    const r = await ctl(["--port", String(port), "--timeout", "0.5", "await_startup"]);
    expect(r.code).toBe(75);
    expect(r.stderr).toContain(`the broker at 127.0.0.1:${port} did not start within 500 ms`);
  });
});

describe("warren ctl against something that is not Warren", () => {
  test("a RabbitMQ on the port is named and not managed (exit 69)", async () => {
    const rabbit = fakeServer(200, { product_name: "RabbitMQ", product_version: "3.10.8", node: "rabbit@elsewhere" });
    try {
      const r = await ctl(["--port", String(rabbit.port), "add_user", "someone", "pw"]);
      expect(r.code).toBe(69);
      expect(r.stderr).toContain(`the management API at 127.0.0.1:${rabbit.port} is RabbitMQ 3.10.8, not Warren`);
      expect((await ctl(["--port", String(rabbit.port), "ping"])).code).toBe(69);
    } finally {
      rabbit.stop();
    }
  });

  test.skipIf(!process.env.RABBITMQ_REF_HTTP)("the reference RabbitMQ is named and not managed (exit 69)", async () => {
    const ref = new URL(process.env.RABBITMQ_REF_HTTP!);
    const r = await ctl([
      "--host",
      ref.hostname,
      "--port",
      ref.port,
      "--username",
      decodeURIComponent(ref.username),
      "--password",
      decodeURIComponent(ref.password),
      "list_queues",
    ]);
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/is RabbitMQ 3\.\d+\.\d+, not Warren/);
  });

  test("a web server that is no management API is named (exit 69)", async () => {
    const web = fakeServer(404, "<html>Not here</html>");
    try {
      const r = await ctl(["--port", String(web.port), "list_queues"]);
      expect(r.code).toBe(69);
      expect(r.stderr).toContain(`the server at 127.0.0.1:${web.port} is not a Warren management API`);
    } finally {
      web.stop();
    }
  });
});

describe("warren ctl with a mistyped command", () => {
  test("prints one line with the closest command name and exits 64", async () => {
    const r = await ctl(["list_queue"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe("Command 'list_queue' not found. Did you mean 'list_queues'? ('warren ctl help' lists the commands)\n");
    expect((await ctl(["help", "add_usr"])).stderr).toBe(
      "Command 'add_usr' not found. Did you mean 'add_user'? ('warren ctl help' lists the commands)\n",
    );
    expect((await ctl(["awaitstartup"])).stderr).toContain("Did you mean 'await_startup'?");
  });
});
