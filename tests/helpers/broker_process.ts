// startTestBroker() in process mode (WARREN_RUNTIME / WARREN_CMD, see warren_runtime.ts): the
// broker runs as `warren server` in a process of its own, and the options a test asks for are
// written to a warren.conf (or the environment) as a user would set them. An option with no
// such form fails the test with its name, so a suite never runs with a setting silently dropped.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BrokerOptions } from "../../src/config.ts";
import { type ServerProcess, startServer } from "./warren_command.ts";

/** Options the helper sets itself (ports, address, data dir) or that only silence logs. */
const HANDLED = new Set(["port", "httpPort", "metricsPort", "bind", "dataDir", "logLevel"]);

/** BrokerOptions → warren.conf key (values are written as they are: numbers and strings). */
const CONFIG_KEYS: Partial<Record<keyof BrokerOptions, string>> = {
  defaultUser: "default_user",
  amqpWebSocketPath: "web_amqp091.ws_path",
  defaultPass: "default_pass",
  defaultVhost: "default_vhost",
  consumerTimeoutMs: "consumer_timeout",
  handshakeTimeoutMs: "handshake_timeout",
  diskFreeLimit: "disk_free_limit.absolute",
  httpMaxBodySize: "management.http.max_body_size",
  maxMessageSize: "max_message_size",
  clusterName: "cluster_name",
  heartbeat: "heartbeat",
  frameMax: "frame_max",
  channelMax: "channel_max",
};

/** Starts `warren server` with `opts` on free loopback ports and `dataDir`. */
export async function startBrokerProcess(opts: Partial<BrokerOptions>, dataDir: string): Promise<ServerProcess> {
  const config: string[] = [];
  const env: Record<string, string> = {};
  const args: string[] = ["--log-level", "info"]; // the start-up line the helper waits for is an info line
  for (const [name, value] of Object.entries(opts)) {
    if (value === undefined || HANDLED.has(name)) continue;
    const key = CONFIG_KEYS[name as keyof BrokerOptions];
    if (key !== undefined) config.push(`${key} = ${value ?? "none"}`);
    else if (name === "memoryHighWatermark") {
      // Warren reads values up to 1 as a fraction of RAM; above it, bytes.
      config.push((value as number) <= 1 ? `vm_memory_high_watermark.relative = ${value}` : `vm_memory_high_watermark.absolute = ${value}`);
    } else if (name === "nodeName") env.RABBITMQ_NODENAME = String(value);
    else if (name === "fsync") {
      if (value === false) args.push("--no-fsync");
    } else if (name === "busyWaitUs") args.push("--busy-wait-us", String(value));
    else if (name === "writerThread") {
      if (value === true) args.push("--writer-thread");
    } else {
      throw new Error(`startTestBroker: option "${name}" cannot be given to a broker process; this test needs the in-process broker`);
    }
  }
  if (config.length > 0) {
    const file = join(dataDir, "test.conf");
    writeFileSync(file, config.join("\n") + "\n");
    args.push("--config", file);
  }
  return await startServer(args, env, dataDir);
}
