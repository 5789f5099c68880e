// Prometheus: how many messages each delayed exchange holds (O(1) per exchange), and what the
// releases did.
import type { HeldMessages } from "./held_messages.ts";

export function metricsText(held: HeldMessages): string {
  let out = "# HELP rabbitmq_delayed_messages Messages held by an x-delayed-message exchange until their x-delay passes\n";
  out += "# TYPE rabbitmq_delayed_messages gauge\n";
  for (const e of held.counts()) out += `rabbitmq_delayed_messages{vhost="${label(e.vhost)}",exchange="${label(e.name)}"} ${e.held}\n`;
  const c = held.counters;
  out += "# HELP rabbitmq_delayed_messages_released_total Delayed messages released, by outcome\n";
  out += "# TYPE rabbitmq_delayed_messages_released_total counter\n";
  out += `rabbitmq_delayed_messages_released_total{outcome="routed"} ${c.released}\n`;
  out += `rabbitmq_delayed_messages_released_total{outcome="unroutable"} ${c.unroutable}\n`;
  out += `rabbitmq_delayed_messages_released_total{outcome="no_exchange"} ${c.noExchange}\n`;
  out += `rabbitmq_delayed_messages_released_total{outcome="overdue_dead_lettered"} ${c.overdueDeadLettered}\n`;
  return out + held.lateness.exposition("rabbitmq_delayed_messages_release_lateness_seconds");
}

function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
