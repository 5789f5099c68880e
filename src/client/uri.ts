// AMQP URIs as RabbitMQ's Erlang client reads them (amqp_uri.erl): amqp:// and amqps://,
// user:password@host:port/vhost, and its query parameters. A URI without a host (`amqp://`)
// means this broker, reached without a socket (a "direct" connection).

export type Verify = "verify_peer" | "verify_none";

export interface AmqpUri {
  /** The URI as given. */
  readonly uri: string;
  /** No host: this broker, reached in-process. */
  readonly direct: boolean;
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  /** undefined when the URI names no user (direct: a trusted login; network: guest/guest). */
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly vhost: string;
  /** Seconds we ask for; negotiated down with the server's (0 disables). */
  readonly heartbeat: number;
  readonly frameMax: number;
  readonly channelMax: number;
  /** Connect plus handshake, in milliseconds. */
  readonly connectionTimeoutMs: number;
  readonly authMechanism: "PLAIN" | "AMQPLAIN" | "EXTERNAL" | undefined;
  readonly cacertfile: string | undefined;
  readonly certfile: string | undefined;
  readonly keyfile: string | undefined;
  readonly verify: Verify;
  /** The SNI name; undefined: the host; "disable": none. */
  readonly serverNameIndication: string | undefined;
}

/** amqp_client's defaults (amqp_params_network): heartbeat 10 s, connection_timeout 60 s. */
export const DEFAULT_HEARTBEAT = 10;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 60_000;

const SHAPE = /^(amqps?):\/\/(?:([^@/?#]*)@)?(\[[^\]]*\]|[^/?#:]*)(?::([^/?#]*))?(\/[^?#]*)?(?:\?([^#]*))?$/i;

/** A bad URI; the message names what is wrong, as RabbitMQ's validation does. */
export class UriError extends Error {
  override name = "UriError";
}

export function parseAmqpUri(uri: string): AmqpUri {
  const m = SHAPE.exec(uri.trim());
  if (!m) throw new UriError(`Unable to parse URI ${JSON.stringify(uri)}: expected amqp:// or amqps://`);
  const scheme = m[1]!.toLowerCase();
  const tls = scheme === "amqps";
  const host = unbracket(decode(m[3] ?? "", uri));
  const direct = host === "";
  if (direct && tls) throw new UriError(`Unable to parse URI ${JSON.stringify(uri)}: amqps:// needs a host`);
  const portText = m[4] ?? "";
  const port = portText === "" ? (tls ? 5671 : 5672) : Number(portText);
  if (!/^\d*$/.test(portText) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UriError(`Unable to parse URI ${JSON.stringify(uri)}: bad port ${JSON.stringify(portText)}`);
  }
  let username: string | undefined;
  let password: string | undefined;
  if (m[2] !== undefined) {
    const colon = m[2].indexOf(":");
    username = decode(colon < 0 ? m[2] : m[2].slice(0, colon), uri);
    password = colon < 0 ? "" : decode(m[2].slice(colon + 1), uri);
  }
  // amqp://host means vhost "/"; amqp://host/ means the empty vhost; amqp://host/%2f means "/".
  const path = m[5];
  if (path !== undefined && path.indexOf("/", 1) >= 0) {
    throw new UriError(`Unable to parse URI ${JSON.stringify(uri)}: the vhost must be one path segment (encode / as %2f)`);
  }
  const vhost = path === undefined ? "/" : decode(path.slice(1), uri);
  const query = parseQuery(m[6] ?? "", uri);
  const verify = query.get("verify") ?? "verify_none";
  if (verify !== "verify_peer" && verify !== "verify_none") {
    throw new UriError(
      `Unable to parse URI ${JSON.stringify(uri)}: verify must be verify_peer or verify_none, got ${JSON.stringify(verify)}`,
    );
  }
  const mechanism = query.get("auth_mechanism")?.toUpperCase();
  if (mechanism !== undefined && mechanism !== "PLAIN" && mechanism !== "AMQPLAIN" && mechanism !== "EXTERNAL") {
    throw new UriError(`Unable to parse URI ${JSON.stringify(uri)}: unsupported auth_mechanism ${JSON.stringify(mechanism)}`);
  }
  return {
    uri,
    direct,
    tls,
    host,
    port,
    username,
    password,
    vhost,
    heartbeat: integer(query, "heartbeat", DEFAULT_HEARTBEAT, uri),
    frameMax: integer(query, "frame_max", 0, uri),
    channelMax: integer(query, "channel_max", 0, uri),
    connectionTimeoutMs: integer(query, "connection_timeout", DEFAULT_CONNECTION_TIMEOUT_MS, uri),
    authMechanism: mechanism,
    cacertfile: query.get("cacertfile"),
    certfile: query.get("certfile"),
    keyfile: query.get("keyfile"),
    verify,
    serverNameIndication: query.get("server_name_indication"),
  };
}

/** The URI without user and password, as RabbitMQ shows it in shovel and federation status. */
export function withoutCredentials(uri: string): string {
  return uri.replace(/^(amqps?:\/\/)[^@/?#]*@/i, "$1");
}

function parseQuery(text: string, uri: string): Map<string, string> {
  const out = new Map<string, string>();
  if (text === "") return out;
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decode(eq < 0 ? pair : pair.slice(0, eq), uri);
    out.set(key, decode(eq < 0 ? "" : pair.slice(eq + 1), uri));
  }
  return out;
}

function integer(query: Map<string, string>, key: string, fallback: number, uri: string): number {
  const text = query.get(key);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) {
    throw new UriError(`Unable to parse URI ${JSON.stringify(uri)}: ${key} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function decode(text: string, uri: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UriError(`Unable to parse URI ${JSON.stringify(uri)}: bad percent-encoding in ${JSON.stringify(text)}`);
  }
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
