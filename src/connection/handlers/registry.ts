// Which method handles what. Channel-class methods are handled by channel.ts; the messaging
// core (exchange, queue, basic, tx, confirm) plugs its handlers in here.
import { notImplemented } from "../../amqp/errors.ts";
import { MethodId, methodName, type AmqpMethod } from "../../amqp/spec/methods.gen.ts";
import type { Channel } from "../channel.ts";

/** A message's content as it arrived: encoded properties (passed through) and the body. */
export interface Content {
  properties: Uint8Array;
  body: Uint8Array;
}

export type MethodHandler = (channel: Channel, method: AmqpMethod, content: Content | undefined) => void;

/** Methods a client may send on a channel; anything else is 503 "unimplemented method". */
export const CLIENT_METHODS: ReadonlySet<number> = new Set([
  MethodId.ChannelOpen, MethodId.ChannelFlow, MethodId.ChannelFlowOk, MethodId.ChannelClose, MethodId.ChannelCloseOk,
  MethodId.AccessRequest,
  MethodId.ExchangeDeclare, MethodId.ExchangeDelete, MethodId.ExchangeBind, MethodId.ExchangeUnbind,
  MethodId.QueueDeclare, MethodId.QueueBind, MethodId.QueuePurge, MethodId.QueueDelete, MethodId.QueueUnbind,
  MethodId.BasicQos, MethodId.BasicConsume, MethodId.BasicCancel, MethodId.BasicPublish, MethodId.BasicGet,
  MethodId.BasicAck, MethodId.BasicReject, MethodId.BasicRecoverAsync, MethodId.BasicRecover, MethodId.BasicNack,
  MethodId.TxSelect, MethodId.TxCommit, MethodId.TxRollback,
  MethodId.ConfirmSelect,
]);

const accessRequest: MethodHandler = (channel) => {
  // access.request is a 0-8 leftover that RabbitMQ still answers with a dummy ticket.
  channel.connection.send(channel.id, { id: MethodId.AccessRequestOk, ticket: 1 });
};

const HANDLERS = new Map<number, MethodHandler>([[MethodId.AccessRequest, accessRequest]]);

const notYet: MethodHandler = (_channel, method) => {
  throw notImplemented(`${methodName(method.id)} is not implemented by this version of Warren`);
};

export function handlerFor(id: number): MethodHandler {
  return HANDLERS.get(id) ?? notYet;
}
