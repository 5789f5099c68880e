// exchange.declare / delete / bind / unbind
import { accessRefused } from "../../amqp/errors.ts";
import { type AmqpMethod, MethodId } from "../../amqp/spec/methods.gen.ts";
import { checkConfigure, checkRead, checkTopic, checkWrite } from "../../auth/access.ts";
import { resourceName } from "../../broker/names.ts";
import type { DeclareGuard } from "../../broker/vhost.ts";
import type { AmqpConnection as Connection, Channel } from "../channel.ts";

export function handleExchangeMethod(channel: Channel, method: AmqpMethod): void {
  const connection = channel.connection;
  const vhost = connection.vhost!;
  switch (method.id) {
    case MethodId.ExchangeDeclare: {
      if (method.passive) {
        // A passive declare needs no permission (rabbit_channel checks none).
        if (method.exchange === "") throw accessRefused("operation not permitted on the default exchange");
        vhost.exchange(method.exchange);
      } else {
        vhost.declareExchange(
          method.exchange,
          method.type,
          method.durable,
          method.autoDelete,
          method.internal,
          method.arguments,
          declareGuard(connection, "exchange"),
        );
      }
      if (!method.nowait) channel.replyAfterCommit({ id: MethodId.ExchangeDeclareOk });
      return;
    }
    case MethodId.ExchangeDelete:
      if (method.exchange === "") throw accessRefused("operation not permitted on the default exchange");
      if (method.exchange.startsWith("amq.")) {
        throw accessRefused(`deletion of system ${resourceName("exchange", method.exchange, vhost.name)} not allowed`);
      }
      checkConfigure(connection, "exchange", method.exchange);
      vhost.deleteExchange(method.exchange, method.ifUnused);
      if (!method.nowait) channel.replyAfterCommit({ id: MethodId.ExchangeDeleteOk });
      return;
    case MethodId.ExchangeBind:
    case MethodId.ExchangeUnbind: {
      // rabbit_channel:binding_action: write on the destination, then the default-exchange
      // check, then read on the source and, for a topic source, the topic permission.
      checkWrite(connection, "exchange", method.destination);
      if (method.source === "" || method.destination === "") {
        throw accessRefused("operation not permitted on the default exchange");
      }
      checkRead(connection, "exchange", method.source);
      const existingSource = vhost.exchanges.get(method.source);
      if (existingSource) checkTopic(connection, existingSource, method.routingKey, "read");
      if (method.id === MethodId.ExchangeBind) {
        // RabbitMQ reports a missing source before a missing destination.
        const source = vhost.exchange(method.source);
        const destination = vhost.exchange(method.destination);
        vhost.bind(source, destination, method.routingKey, method.arguments);
        if (!method.nowait) channel.replyAfterCommit({ id: MethodId.ExchangeBindOk });
      } else {
        // As queue.unbind: missing exchanges or a missing binding are fine.
        const source = vhost.exchanges.get(method.source);
        const destination = vhost.exchanges.get(method.destination);
        if (source && destination) vhost.unbind(source, destination, method.routingKey, method.arguments);
        if (!method.nowait) channel.replyAfterCommit({ id: MethodId.ExchangeUnbindOk });
      }
      return;
    }
  }
}

/** The permission checks of a declare by this connection's user (queue or exchange). */
export function declareGuard(connection: Connection, kind: "queue" | "exchange"): DeclareGuard {
  return {
    configure: (name) => checkConfigure(connection, kind, name),
    linked: (name, target) => {
      checkRead(connection, kind, name);
      checkWrite(connection, "exchange", target);
    },
  };
}
