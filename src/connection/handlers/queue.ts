// queue.declare / bind / unbind / purge / delete
import { AmqpError, notImplemented } from "../../amqp/errors.ts";
import { ReplyCode } from "../../amqp/spec/constants.gen.ts";
import { type AmqpMethod, MethodId } from "../../amqp/spec/methods.gen.ts";
import type { Queue } from "../../broker/queue.ts";
import type { Channel } from "../channel.ts";
import { isReplyTo, replyToExists } from "../direct_reply_to.ts";
import { checkConfigure, checkRead, checkTopic, checkWrite } from "../../auth/access.ts";
import { declareGuard } from "./exchange.ts";

export function handleQueueMethod(channel: Channel, method: AmqpMethod): void {
  const connection = channel.connection;
  const vhost = connection.vhost!;
  switch (method.id) {
    case MethodId.QueueDeclare: {
      if (isReplyTo(method.queue)) {
        // Declaring the pseudo-queue is always passive: it exists while its consumer does.
        if (!replyToExists(connection.broker.replyChannels, method.queue)) {
          throw new AmqpError(ReplyCode.NOT_FOUND, `no queue '${method.queue}' in vhost '${vhost.name}'`);
        }
        if (!method.nowait) {
          channel.replyAfterCommit({ id: MethodId.QueueDeclareOk, queue: method.queue, messageCount: 0, consumerCount: 1 });
        }
        return;
      }
      let queue: Queue;
      if (method.passive) {
        // A passive declare needs no permission (rabbit_channel checks none).
        queue = vhost.queue(method.queue);
        vhost.checkExclusiveAccess(queue, connection);
        queue.touch();
      } else {
        queue = vhost.declareQueue(
          {
            name: method.queue,
            durable: method.durable,
            exclusive: method.exclusive,
            autoDelete: method.autoDelete,
            args: method.arguments,
          },
          connection,
          declareGuard(connection, "queue"),
        );
        if (queue.owner === connection) connection.exclusiveQueues.add(queue);
      }
      channel.lastQueue = queue.name;
      if (!method.nowait) {
        channel.replyAfterCommit({
          id: MethodId.QueueDeclareOk,
          queue: queue.name,
          messageCount: queue.messageCount,
          // RabbitMQ's stream queues report no consumers here.
          consumerCount: queue.type === "stream" ? 0 : queue.consumerCount,
        });
      }
      return;
    }
    case MethodId.QueueBind:
    case MethodId.QueueUnbind: {
      const queueName = queueNameOrLast(channel, method.queue);
      // An empty routing key with an empty queue name means "the last declared queue's name".
      const routingKey = method.queue === "" && method.routingKey === "" ? queueName : method.routingKey;
      // rabbit_channel:binding_action: write on the queue, the default-exchange check, read on
      // the exchange, and for a topic exchange the topic permission on the routing key.
      checkWrite(connection, "queue", queueName);
      if (method.exchange === "") throw new AmqpError(ReplyCode.ACCESS_REFUSED, "operation not permitted on the default exchange");
      checkRead(connection, "exchange", method.exchange);
      const existing = vhost.exchanges.get(method.exchange);
      if (existing) checkTopic(connection, existing, routingKey, "read");
      if (method.id === MethodId.QueueBind) {
        // RabbitMQ reports a missing source exchange before a missing queue.
        const exchange = vhost.exchange(method.exchange);
        const queue = vhost.queue(queueName);
        vhost.checkExclusiveAccess(queue, connection);
        vhost.bind(exchange, queue, routingKey, method.arguments);
        if (!method.nowait) channel.replyAfterCommit({ id: MethodId.QueueBindOk });
      } else {
        // As RabbitMQ 3.x: unbinding from a missing exchange or queue, or a missing binding, is ok.
        const exchange = vhost.exchanges.get(method.exchange);
        const queue = vhost.queues.get(queueName);
        if (exchange && queue && vhost.isBound(exchange, queue, routingKey, method.arguments)) {
          vhost.checkExclusiveAccess(queue, connection);
          vhost.unbind(exchange, queue, routingKey, method.arguments);
        }
        channel.replyAfterCommit({ id: MethodId.QueueUnbindOk });
      }
      return;
    }
    case MethodId.QueuePurge: {
      const name = queueNameOrLast(channel, method.queue);
      checkRead(connection, "queue", name);
      const queue = vhost.queue(name);
      vhost.checkExclusiveAccess(queue, connection);
      const messageCount = queue.purge();
      if (!method.nowait) channel.replyAfterCommit({ id: MethodId.QueuePurgeOk, messageCount });
      return;
    }
    case MethodId.QueueDelete: {
      const name = queueNameOrLast(channel, method.queue);
      checkConfigure(connection, "queue", name);
      const queue = vhost.queues.get(name);
      const reply = (messageCount: number) => {
        if (!method.nowait) channel.replyAfterCommit({ id: MethodId.QueueDeleteOk, messageCount });
      };
      if (queue) {
        vhost.checkExclusiveAccess(queue, connection);
        if (queue.type === "quorum" && (method.ifUnused || method.ifEmpty)) {
          const flag = method.ifUnused ? "if-unused" : "if-empty";
          throw notImplemented(
            `cannot delete ${queue.describe()}. queue.delete operations with ${flag} flag set are not supported by quorum queues`,
          );
        }
        // RabbitMQ deletes a stream whatever if-unused and if-empty say, and counts 0 messages.
        const stream = queue.type === "stream";
        if (!stream && method.ifUnused && queue.consumerCount > 0) throw precondition(`${queue.describe()} in use`);
        if (!stream && method.ifEmpty && queue.messageCount > 0) throw precondition(`${queue.describe()} not empty`);
        vhost.deleteQueue(queue, stream ? () => reply(0) : reply);
        connection.exclusiveQueues.delete(queue);
      } else {
        reply(0);
      }
      return;
    }
  }
}

/** The spec's shortcut: an empty queue name means the channel's last declared queue. */
export function queueNameOrLast(channel: Channel, name: string): string {
  if (name !== "") return name;
  if (channel.lastQueue === "") throw new AmqpError(ReplyCode.NOT_FOUND, "no previously declared queue");
  return channel.lastQueue;
}

function precondition(text: string): AmqpError {
  return new AmqpError(ReplyCode.PRECONDITION_FAILED, text);
}
