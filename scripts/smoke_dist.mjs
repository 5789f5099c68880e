// Smoke test of the built executable: start it on a free port, wait for "Server startup
// complete", connect with amqplib, open and close a channel, stop it with SIGTERM, expect exit 0.
//   node scripts/smoke_dist.mjs dist/warren
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqp from "amqplib";

const binary = process.argv[2] ?? "dist/warren";
const fail = (msg) => {
  console.error(`smoke: FAIL: ${msg}`);
  process.exit(1);
};
const deadline = setTimeout(() => fail("timed out after 30 s"), 30_000);

const port = await new Promise((done) => {
  const server = createServer().listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    server.close(() => done(port));
  });
});
const dataDir = mkdtempSync(join(tmpdir(), "warren-smoke-"));
const started = Date.now();
const broker = spawn(binary, [
  "--port",
  String(port),
  "--bind",
  "127.0.0.1",
  "--data-dir",
  dataDir,
  "--http-port",
  "0",
  "--metrics-port",
  "0",
], {
  stdio: ["ignore", "pipe", "inherit"],
});
let log = "";
await new Promise((ready, failed) => {
  broker.stdout.on("data", (chunk) => {
    log += chunk;
    if (log.includes("Server startup complete")) ready();
  });
  broker.on("exit", (code) => failed(new Error(`broker exited early with ${code}:\n${log}`)));
}).catch((err) => fail(err.message));
console.log(`smoke: "Server startup complete" after ${Date.now() - started} ms`);

const connection = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
const product = connection.connection.serverProperties.product;
if (product !== "Warren") fail(`server product is ${product}`);
const channel = await connection.createChannel();
await channel.close();
console.log("smoke: amqplib connected, opened and closed a channel");

// SIGTERM with a client connected: the client must see 320 CONNECTION_FORCED, the broker exit 0.
const forced = new Promise((done) => connection.on("close", (err) => done(err)));
const exitCode = await new Promise((done) => {
  broker.removeAllListeners("exit");
  broker.on("exit", (code) => done(code));
  broker.kill("SIGTERM");
});
const closeError = await forced;
const closeCode = closeError?.code;
console.log(`smoke: client saw: ${closeError?.message}`);
if (closeCode !== 320) fail(`client saw close code ${closeCode} on SIGTERM, expected 320`);
console.log("smoke: SIGTERM closed the client with 320 CONNECTION_FORCED");
rmSync(dataDir, { recursive: true, force: true });
if (exitCode !== 0) fail(`broker exited with ${exitCode} after SIGTERM`);
clearTimeout(deadline);
console.log("smoke: SIGTERM → exit 0. OK");
