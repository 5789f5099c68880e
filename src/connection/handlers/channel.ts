// channel.open / close / close-ok / flow
import { AmqpError, commandInvalid } from "../../amqp/errors.ts";
import { ReplyCode } from "../../amqp/spec/constants.gen.ts";
import { type AmqpMethod, MethodId } from "../../amqp/spec/methods.gen.ts";
import type { Channel } from "../channel.ts";

const EMPTY = new Uint8Array(0);

export function handleChannelMethod(channel: Channel, method: AmqpMethod): void {
  const connection = channel.connection;
  switch (method.id) {
    case MethodId.ChannelOpen:
      if (channel.state !== "opening") throw new AmqpError(ReplyCode.CHANNEL_ERROR, "second 'channel.open' seen");
      channel.state = "open";
      connection.broker.stats.channelsOpened++;
      connection.send(channel.id, { id: MethodId.ChannelOpenOk, channelId: EMPTY });
      return;
    case MethodId.ChannelClose:
      // Confirms already due go out before close-ok; none is written after it (finishClose).
      connection.sendDueConfirms(channel);
      connection.send(channel.id, { id: MethodId.ChannelCloseOk });
      channel.finishClose();
      return;
    case MethodId.ChannelCloseOk:
      // Only meaningful while the channel is closing (handled by the channel itself).
      throw commandInvalid("unimplemented method");
    case MethodId.ChannelFlow:
      // RabbitMQ 3.x never lets a client stop deliveries with flow: active=false is not implemented.
      if (!method.active) throw new AmqpError(ReplyCode.NOT_IMPLEMENTED, "active=false");
      connection.send(channel.id, { id: MethodId.ChannelFlowOk, active: true });
      return;
    case MethodId.ChannelFlowOk:
      return;
  }
}
