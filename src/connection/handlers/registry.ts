// Which module handles which method class: the ChannelMethods every AMQP channel is opened with.
import { type AmqpMethod, MethodId } from "../../amqp/spec/methods.gen.ts";
import type { Channel, ChannelMethods, Content } from "../channel.ts";
import { handleBasicMethod } from "./basic.ts";
import { handleChannelMethod } from "./channel.ts";
import { handleExchangeMethod } from "./exchange.ts";
import { handleQueueMethod } from "./queue.ts";
import { handleTxConfirmMethod } from "./tx.ts";

export type MethodHandler = (channel: Channel, method: AmqpMethod, content: Content | undefined) => void;

/** Methods a client may send on a channel; anything else is 503 "unimplemented method". */
export const CLIENT_METHODS: ReadonlySet<number> = new Set([
  MethodId.ChannelOpen,
  MethodId.ChannelFlow,
  MethodId.ChannelFlowOk,
  MethodId.ChannelClose,
  MethodId.ChannelCloseOk,
  MethodId.AccessRequest,
  MethodId.ExchangeDeclare,
  MethodId.ExchangeDelete,
  MethodId.ExchangeBind,
  MethodId.ExchangeUnbind,
  MethodId.QueueDeclare,
  MethodId.QueueBind,
  MethodId.QueuePurge,
  MethodId.QueueDelete,
  MethodId.QueueUnbind,
  MethodId.BasicQos,
  MethodId.BasicConsume,
  MethodId.BasicCancel,
  MethodId.BasicPublish,
  MethodId.BasicGet,
  MethodId.BasicAck,
  MethodId.BasicReject,
  MethodId.BasicRecoverAsync,
  MethodId.BasicRecover,
  MethodId.BasicNack,
  MethodId.TxSelect,
  MethodId.TxCommit,
  MethodId.TxRollback,
  MethodId.ConfirmSelect,
]);

const accessRequest: MethodHandler = (channel) => {
  // access.request is a 0-8 leftover that RabbitMQ still answers with a dummy ticket.
  channel.connection.send(channel.id, { id: MethodId.AccessRequestOk, ticket: 1 });
};

const BY_CLASS: Record<number, MethodHandler> = {
  20: handleChannelMethod,
  30: accessRequest,
  40: handleExchangeMethod,
  50: handleQueueMethod,
  60: handleBasicMethod,
  85: handleTxConfirmMethod,
  90: handleTxConfirmMethod,
};

export function handlerFor(id: number): MethodHandler {
  return BY_CLASS[id >>> 16]!;
}

export const CHANNEL_METHODS: ChannelMethods = {
  accepts: (id) => CLIENT_METHODS.has(id),
  handle: (channel, method, content) => handlerFor(method.id)(channel, method, content),
};
