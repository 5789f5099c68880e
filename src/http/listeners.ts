// Starts the management API (HTTP and/or HTTPS) and Prometheus listeners for a broker, on the
// bind address unless the config file named one, logged as RabbitMQ's plugins log them. All
// stop with the broker.
import type { PluginRouteSource } from "../plugins/manager.ts";
import type { AmqpBroker } from "../connection/channel.ts";
import { type FetchHandler, type HttpListener, listenHttp } from "../runtime/http.ts";
import { listening } from "../runtime/listen_error.ts";
import { createManagementApp } from "./app.ts";
import { createMetricsApp } from "./metrics.ts";

/**
 * management.path_prefix: the API answers under the prefix only (`/rabbitmq/api/overview`), as
 * RabbitMQ serves it there; other paths are 404.
 */
function underPrefix(prefix: string, fetch: FetchHandler): FetchHandler {
  if (prefix === "") return fetch;
  return (request, peer) => {
    const url = new URL(request.url);
    if (url.pathname !== prefix && !url.pathname.startsWith(prefix + "/")) {
      return Response.json({ error: "Object Not Found", reason: "Not Found" }, { status: 404 });
    }
    url.pathname = url.pathname.slice(prefix.length) || "/";
    return fetch(new Request(url.toString(), request as RequestInit), peer);
  };
}

/** Returns the names of the plugins that started, as RabbitMQ counts them. */
export function startHttpListeners(broker: AmqpBroker, plugins: readonly PluginRouteSource[] = []): string[] {
  const o = broker.options;
  const started: string[] = [];
  const stopWithBroker = (listener: HttpListener) => {
    broker.onStop(() => listener.stop());
    return listener;
  };
  if (o.metricsPort !== null) {
    const bind = o.listenAddresses.metrics ?? o.bind;
    const app = createMetricsApp(broker);
    const listener = listening("Prometheus metrics (HTTP)", bind, o.metricsPort, () => listenHttp(bind, o.metricsPort!, app.fetch));
    broker.metricsListener = stopWithBroker(listener);
    broker.log.info(`Prometheus metrics: HTTP (non-TLS) listener started on port ${listener.port}`);
    started.push("rabbitmq_prometheus");
  }
  if (o.httpPort !== null || o.httpsPort !== null) {
    const fetch = underPrefix(o.httpPathPrefix, createManagementApp(broker, plugins).fetch);
    if (o.httpPort !== null) {
      const bind = o.listenAddresses.http ?? o.bind;
      const listener = listening(
        "management API (HTTP)",
        bind,
        o.httpPort,
        () => listenHttp(bind, o.httpPort!, fetch, undefined, broker.webSocketPaths),
      );
      broker.httpListener = stopWithBroker(listener);
      broker.log.info(`Management plugin: HTTP (non-TLS) listener started on port ${listener.port}`);
    }
    if (o.httpsPort !== null) {
      const cert = o.httpsCert ?? o.tlsCert;
      const key = o.httpsKey ?? o.tlsKey;
      if (cert === undefined || key === undefined) {
        throw new Error(
          "The HTTPS listener needs a certificate and a key (management.ssl.certfile and management.ssl.keyfile, or --tls-cert and --tls-key)",
        );
      }
      const tls = { cert, key, ca: o.httpsCa ?? o.tlsCa };
      const bind = o.listenAddresses.https ?? o.bind;
      const listener = listening(
        "management API (HTTPS)",
        bind,
        o.httpsPort,
        () => listenHttp(bind, o.httpsPort!, fetch, tls, broker.webSocketPaths),
      );
      broker.httpsListener = stopWithBroker(listener);
      broker.log.info(`Management plugin: HTTP (TLS) listener started on port ${listener.port}`);
    }
    started.push("rabbitmq_management");
  }
  return started;
}
