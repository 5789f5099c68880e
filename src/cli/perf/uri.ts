// AMQP URIs as RabbitMQ documents them: amqp[s]://user:pass@host:port/vhost, with
// percent-encoded parts, default port 5672 (5671 for amqps), vhost "/" when the path is empty.
import { PerfUsageError } from "./errors.ts";

export interface AmqpUri {
  tls: boolean;
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  /** amqps: trust this CA (PEM text) instead of the system's; or verify nothing. */
  tlsCa?: string;
  tlsInsecure?: boolean;
  /** The URI with the password masked, for reports. */
  display: string;
}

export function parseAmqpUri(text: string): AmqpUri {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PerfUsageError(`Cannot use URI "${text}": not a valid URI`);
  }
  const tls = url.protocol === "amqps:";
  if (!tls && url.protocol !== "amqp:") throw new PerfUsageError(`Cannot use URI "${text}": scheme must be amqp or amqps`);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1") || "localhost";
  const port = url.port === "" ? (tls ? 5671 : 5672) : Number(url.port);
  const path = url.pathname;
  // "amqp://h" and "amqp://h/" both mean the default vhost "/"; "amqp://h/%2f" is "/" spelled out.
  const vhost = path === "" || path === "/" ? "/" : decodeURIComponent(path.slice(1));
  const username = url.username === "" ? "guest" : decodeURIComponent(url.username);
  const password = url.password === "" && url.username === "" ? "guest" : decodeURIComponent(url.password);
  const masked = new URL(text);
  if (masked.password) masked.password = "***";
  return { tls, hostname, port, username, password, vhost, display: masked.toString() };
}
