// exchange.declare / delete / bind / unbind
import { accessRefused } from "../../amqp/errors.ts";
import { MethodId, type AmqpMethod } from "../../amqp/spec/methods.gen.ts";
import type { Channel } from "../channel.ts";

export function handleExchangeMethod(channel: Channel, method: AmqpMethod): void {
  const connection = channel.connection;
  const vhost = connection.vhost!;
  switch (method.id) {
    case MethodId.ExchangeDeclare: {
      if (method.passive) {
        if (method.exchange === "") throw accessRefused("operation not permitted on the default exchange");
        vhost.exchange(method.exchange);
      } else {
        vhost.declareExchange(method.exchange, method.type, method.durable, method.autoDelete, method.internal, method.arguments);
      }
      if (!method.nowait) channel.replyAfterCommit({ id: MethodId.ExchangeDeclareOk });
      return;
    }
    case MethodId.ExchangeDelete:
      vhost.deleteExchange(method.exchange, method.ifUnused);
      if (!method.nowait) channel.replyAfterCommit({ id: MethodId.ExchangeDeleteOk });
      return;
    case MethodId.ExchangeBind:
    case MethodId.ExchangeUnbind: {
      if (method.source === "" || method.destination === "") {
        throw accessRefused("operation not permitted on the default exchange");
      }
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
