// Starts the management API and Prometheus listeners for a broker, on the AMQP bind address,
// logged as RabbitMQ's plugins log them. Both stop with the broker.
import type { Broker } from "../broker/broker.ts";
import { listenHttp } from "../runtime/http.ts";
import { createManagementApp } from "./app.ts";
import { createMetricsApp } from "./metrics.ts";

/** Returns the names of the plugins that started, as RabbitMQ counts them. */
export function startHttpListeners(broker: Broker): string[] {
  const { bind, httpPort, metricsPort } = broker.options;
  const started: string[] = [];
  if (metricsPort !== null) {
    const listener = listenHttp(bind, metricsPort, createMetricsApp(broker).fetch);
    broker.metricsListener = listener;
    broker.onStop(() => listener.stop());
    broker.log.info(`Prometheus metrics: HTTP (non-TLS) listener started on port ${listener.port}`);
    started.push("rabbitmq_prometheus");
  }
  if (httpPort !== null) {
    const listener = listenHttp(bind, httpPort, createManagementApp(broker).fetch);
    broker.httpListener = listener;
    broker.onStop(() => listener.stop());
    broker.log.info(`Management plugin: HTTP (non-TLS) listener started on port ${listener.port}`);
    started.push("rabbitmq_management");
  }
  return started;
}
