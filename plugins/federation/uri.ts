// Upstream URIs as RabbitMQ's amqp_uri checks them when an upstream is set: amqp or amqps, a
// numeric port, integer connection parameters (with RabbitMQ's texts), then whatever else the
// client (src/client) would refuse when connecting.
import { parseAmqpUri } from "../../src/client/mod.ts";
export { withoutCredentials } from "../../src/client/mod.ts";

const INTEGER_PARAMS = ["heartbeat", "connection_timeout", "channel_max", "frame_max"];

/** An error text (RabbitMQ's shape) for a URI an upstream may not use, or undefined. */
export function checkUpstreamUri(uri: string): string | undefined {
  const bad = (reason: string) => `"${uri}" not a valid URI: {${reason},"${uri}"}`;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri);
  if (!scheme) return bad("{unable_to_parse_uri,no_scheme}");
  if (scheme[1] !== "amqp" && scheme[1] !== "amqps") return bad(`{unexpected_uri_scheme,"${scheme[1]}"}`);
  const rest = uri.slice(scheme[0].length);
  const authority = rest.split(/[/?]/, 1)[0]!;
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
  const port = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort)?.[2];
  if (port !== undefined && port !== "" && !/^\d+$/.test(port)) return bad(`{unable_to_parse_uri,{malformed_uri,"${uri}",bad_port}}`);
  const query = rest.includes("?") ? rest.slice(rest.indexOf("?") + 1) : "";
  for (const [key, value] of new URLSearchParams(query)) {
    if (INTEGER_PARAMS.includes(key) && !/^-?\d+$/.test(value)) {
      return bad(`{invalid_amqp_params_parameter,${key},"${value}",[{"${key}","${value}"}],{not_an_integer,"${value}"}}`);
    }
  }
  try {
    parseAmqpUri(uri);
  } catch (err) {
    return `"${uri}" not a valid URI: ${(err as Error).message}`;
  }
  return undefined;
}

/**
 * The URI with the local vhost when it names none (amqp_uri:parse with the exchange's or
 * queue's vhost as default): "amqp://host" federates vhost "v" from vhost "v" upstream.
 */
export function withDefaultVhost(uri: string, vhost: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*)([^?#]*)(.*)$/.exec(uri);
  if (!m || m[2] !== "") return uri;
  return `${m[1]}/${encodeURIComponent(vhost)}${m[3]}`;
}
