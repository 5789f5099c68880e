// What a client observes after it sent something: the comparable outcome of a raw-socket
// scenario, used by the protocol tests and by the differential tests against RabbitMQ.
import { type AmqpMethod, MethodId, methodName } from "../../src/amqp/spec/methods.gen.ts";
import { openRawConnection, RawClient, type ReceivedFrame } from "./raw_client.ts";

export type Outcome =
  /** The server sent connection.close. */
  | { kind: "close"; code: number; classId: number; methodId: number; text: string }
  /** The server sent the channel.close a scenario waited for (`until`). */
  | { kind: "channel-close"; code: number; classId: number; methodId: number; text: string }
  /** The server answered with its protocol header, then closed the socket. */
  | { kind: "protocol-header"; header: string }
  /** The socket closed without a connection.close. */
  | { kind: "socket-closed" }
  /** The method the scenario was waiting for (or connection.close-ok) arrived. */
  | { kind: "method"; name: string }
  /** Nothing of the above within the time limit. */
  | { kind: "nothing" };

export interface ObserveOptions {
  /** A method whose arrival ends the observation (e.g. channel.flow-ok). */
  until?: number;
  timeoutMs?: number;
  /** Answer a connection.close with close-ok, as a well-behaved client does (default true). */
  closeOk?: boolean;
}

/**
 * Waits for the first of: connection.close, connection.close-ok, `until`, the socket closing, or
 * the time limit.
 */
export async function observe(client: RawClient, opts: ObserveOptions = {}): Promise<Outcome> {
  const timeoutMs = opts.timeoutMs ?? 6000;
  const interesting = (f: ReceivedFrame) =>
    f.method !== undefined &&
    (f.method.id === MethodId.ConnectionClose || f.method.id === MethodId.ConnectionCloseOk || f.method.id === opts.until);
  let frame: ReceivedFrame | undefined;
  try {
    frame = await client.waitForFrame(interesting, timeoutMs);
  } catch {
    // closed or timed out: decided below
  }
  const m: AmqpMethod | undefined = frame?.method;
  if (m?.id === MethodId.ConnectionClose) {
    if (opts.closeOk !== false) client.sendMethod(0, { id: MethodId.ConnectionCloseOk });
    return { kind: "close", code: m.replyCode, classId: m.classId, methodId: m.methodId, text: m.replyText };
  }
  // Waited for with `until`: a channel.close, with its code, method and text.
  if (m?.id === MethodId.ChannelClose) {
    return { kind: "channel-close", code: m.replyCode, classId: m.classId, methodId: m.methodId, text: m.replyText };
  }
  if (m) return { kind: "method", name: methodName(m.id) };
  if (client.closed && client.protocolHeaderReply) {
    return { kind: "protocol-header", header: Buffer.from(client.protocolHeaderReply).toString("latin1") };
  }
  if (client.closed) return { kind: "socket-closed" };
  return { kind: "nothing" };
}

/** A one-line description of an outcome, for failure messages and the report. */
export function describeOutcome(o: Outcome): string {
  switch (o.kind) {
    case "close":
      return `connection.close ${o.code} ${o.classId}/${o.methodId} "${o.text}"`;
    case "channel-close":
      return `channel.close ${o.code} ${o.classId}/${o.methodId} "${o.text}"`;
    case "protocol-header":
      return `protocol header ${JSON.stringify(o.header)} then socket closed`;
    case "method":
      return o.name;
    default:
      return o.kind;
  }
}

/** The broker still takes a fresh connection and opens a channel on it. */
export async function expectServing(port: number, host = "127.0.0.1"): Promise<void> {
  const client = await openRawConnection(port, {}, host);
  try {
    await client.openChannel(1);
  } finally {
    client.destroy();
  }
}
