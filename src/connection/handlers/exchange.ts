// exchange.declare / delete / bind / unbind
import { accessRefused, notImplemented } from "../../amqp/errors.ts";
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
      if (!method.nowait) connection.send(channel.id, { id: MethodId.ExchangeDeclareOk });
      return;
    }
    case MethodId.ExchangeDelete:
      vhost.deleteExchange(method.exchange, method.ifUnused);
      if (!method.nowait) connection.send(channel.id, { id: MethodId.ExchangeDeleteOk });
      return;
    case MethodId.ExchangeBind:
    case MethodId.ExchangeUnbind:
      throw notImplemented("exchange-to-exchange bindings are not implemented by this version of Warren");
  }
}
