// Message counters for the management API and Prometheus: plain integer fields bumped on the hot
// path (no allocation per message); rates are derived elsewhere from periodic samples.

/** Per queue, as rabbit_mgmt's queue message_stats name them. */
export class QueueCounters {
  publish = 0;
  deliver = 0;
  deliverNoAck = 0;
  get = 0;
  getNoAck = 0;
  getEmpty = 0;
  ack = 0;
  redeliver = 0;
}

/** Per channel: the queue counters for what it consumed, plus what it published. */
export class ChannelCounters extends QueueCounters {
  confirm = 0;
  returnUnroutable = 0;
  dropUnroutable = 0;
}

/** Per exchange: messages published into it, and those it routed somewhere. */
export class ExchangeCounters {
  publishIn = 0;
  publishOut = 0;
}

/** Why a queue dropped a message (rabbit_global_counters:messages_dead_lettered). */
export type DeadLetterReason = "expired" | "rejected" | "maxlen" | "delivery_limit";

/**
 * rabbitmq_global_messages_dead_lettered_*_total by queue type and dead-letter strategy:
 * "disabled" counts what a queue without a dead-letter exchange discarded for that reason.
 */
export class DeadLetterCounters {
  readonly counts = new Map<string, number>();

  add(queueType: "classic" | "quorum" | "stream", strategy: "disabled" | "at_most_once", reason: DeadLetterReason, count = 1): void {
    const key = `${queueType}/${strategy}/${reason}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + count);
  }

  get(queueType: "classic" | "quorum" | "stream", strategy: "disabled" | "at_most_once", reason: DeadLetterReason): number {
    return this.counts.get(`${queueType}/${strategy}/${reason}`) ?? 0;
  }
}

/** Broker-wide, as rabbitmq_prometheus's rabbitmq_global_messages_* counters name them. */
export class GlobalCounters {
  received = 0;
  receivedConfirm = 0;
  routed = 0;
  unroutableDropped = 0;
  unroutableReturned = 0;
  confirmed = 0;
  deliveredConsumeManualAck = 0;
  deliveredConsumeAutoAck = 0;
  deliveredGetManualAck = 0;
  deliveredGetAutoAck = 0;
  getEmpty = 0;
  redelivered = 0;
  acknowledged = 0;
  connectionsOpened = 0;
  connectionsClosed = 0;
  channelsOpened = 0;
  channelsClosed = 0;
  /** AMQP logins (rabbitmq_auth_attempts_*{protocol="amqp091"}). */
  authSucceeded = 0;
  authFailed = 0;
  readonly deadLettered = new DeadLetterCounters();

  get delivered(): number {
    return this.deliveredConsumeManualAck + this.deliveredConsumeAutoAck + this.deliveredGetManualAck + this.deliveredGetAutoAck;
  }
}
