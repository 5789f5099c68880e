// tx.select / commit / rollback and confirm.select (the two modes exclude each other)
import { preconditionFailed } from "../../amqp/errors.ts";
import { type AmqpMethod, MethodId } from "../../amqp/spec/methods.gen.ts";
import type { Channel, Unacked } from "../channel.ts";
import { settle } from "./ack.ts";
import { routeMessage } from "./basic.ts";

export type { TxState } from "../channel.ts";

export function handleTxConfirmMethod(channel: Channel, method: AmqpMethod): void {
  const connection = channel.connection;
  switch (method.id) {
    case MethodId.ConfirmSelect:
      if (channel.tx) throw preconditionFailed("cannot switch from tx to confirm mode");
      channel.confirm = true;
      if (!method.nowait) connection.send(channel.id, { id: MethodId.ConfirmSelectOk });
      return;
    case MethodId.TxSelect:
      if (channel.confirm) throw preconditionFailed("cannot switch from confirm to tx mode");
      channel.tx ??= { publishes: [], acks: [] };
      connection.send(channel.id, { id: MethodId.TxSelectOk });
      return;
    case MethodId.TxCommit: {
      const tx = requireTx(channel);
      channel.tx = { publishes: [], acks: [] };
      for (const p of tx.publishes) routeMessage(channel, p.exchange, p.message, p.mandatory);
      for (const a of tx.acks) settle(channel, a.deliveries, a.how);
      // Committed publishes and acks are on disk when commit-ok goes out.
      channel.replyAfterCommit({ id: MethodId.TxCommitOk });
      return;
    }
    case MethodId.TxRollback: {
      const tx = requireTx(channel);
      channel.tx = { publishes: [], acks: [] };
      restoreUnacked(channel, tx.acks.flatMap((a) => a.deliveries));
      connection.send(channel.id, { id: MethodId.TxRollbackOk });
      return;
    }
  }
}

function requireTx(channel: Channel) {
  if (!channel.tx) throw preconditionFailed("channel is not transactional");
  return channel.tx;
}

/** Rolled-back acks: the deliveries are unacked again, in delivery-tag order. */
function restoreUnacked(channel: Channel, deliveries: Unacked[]): void {
  channel.unacked.addAll(deliveries);
}
