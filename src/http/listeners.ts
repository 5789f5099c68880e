// Starts the management API (HTTP and/or HTTPS) and Prometheus listeners for a broker, on the
// bind address unless the config file named one, logged as RabbitMQ's plugins log them. All
// stop with the broker.
import type { PluginRouteSource } from "../plugins/manager.ts";
import type { AmqpBroker } from "../connection/channel.ts";
import { listenHttp, type HttpListener } from "../runtime/http.ts";
import { createManagementApp } from "./app.ts";
import { createMetricsApp } from "./metrics.ts";

/** Returns the names of the plugins that started, as RabbitMQ counts them. */
export function startHttpListeners(broker: AmqpBroker, plugins: readonly PluginRouteSource[] = []): string[] {
  const o = broker.options;
  const started: string[] = [];
  const stopWithBroker = (listener: HttpListener) => {
    broker.onStop(() => listener.stop());
    return listener;
  };
  if (o.metricsPort !== null) {
    const listener = listenHttp(o.listenAddresses.metrics ?? o.bind, o.metricsPort, createMetricsApp(broker).fetch);
    broker.metricsListener = stopWithBroker(listener);
    broker.log.info(`Prometheus metrics: HTTP (non-TLS) listener started on port ${listener.port}`);
    started.push("rabbitmq_prometheus");
  }
  if (o.httpPort !== null || o.httpsPort !== null) {
    const fetch = createManagementApp(broker, plugins).fetch;
    if (o.httpPort !== null) {
      const listener = listenHttp(o.listenAddresses.http ?? o.bind, o.httpPort, fetch);
      broker.httpListener = stopWithBroker(listener);
      broker.log.info(`Management plugin: HTTP (non-TLS) listener started on port ${listener.port}`);
    }
    if (o.httpsPort !== null) {
      const cert = o.httpsCert ?? o.tlsCert;
      const key = o.httpsKey ?? o.tlsKey;
      if (cert === undefined || key === undefined) {
        throw new Error("The HTTPS listener needs a certificate and a key (management.ssl.certfile and management.ssl.keyfile, or --tls-cert and --tls-key)");
      }
      const tls = { cert, key, ca: o.httpsCa ?? o.tlsCa };
      const listener = listenHttp(o.listenAddresses.https ?? o.bind, o.httpsPort, fetch, tls);
      broker.httpsListener = stopWithBroker(listener);
      broker.log.info(`Management plugin: HTTP (TLS) listener started on port ${listener.port}`);
    }
    started.push("rabbitmq_management");
  }
  return started;
}
