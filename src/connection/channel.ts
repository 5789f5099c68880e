import { AmqpError, commandInvalid, unexpectedFrame } from "../amqp/errors.ts";
import { readContentHeader } from "../amqp/frames.ts";
import type { Reader } from "../amqp/reader.ts";
import { FRAME_BODY, ReplyCode } from "../amqp/spec/constants.gen.ts";
import { METHODS, MethodId, methodName, type AmqpMethod } from "../amqp/spec/methods.gen.ts";
import type { Connection } from "./connection.ts";
import { handleChannelMethod } from "./handlers/channel.ts";
import { CLIENT_METHODS, handlerFor } from "./handlers/registry.ts";

export type ChannelState =
  | "opening" // created by its first frame, which must be channel.open
  | "open"
  | "closing"; // channel.close sent by the broker, awaiting close-ok

/** A method with content, waiting for its header and body frames. */
interface PendingContent {
  method: AmqpMethod;
  classId: number;
  bodySize: number;
  properties: Uint8Array | undefined;
  body: Uint8Array | undefined;
  received: number;
}

export class Channel {
  state: ChannelState = "opening";
  private pending: PendingContent | undefined;

  constructor(readonly connection: Connection, readonly id: number) {}

  onMethod(method: AmqpMethod): void {
    if (this.state === "closing") {
      // RabbitMQ ignores everything on a closing channel except the close handshake.
      if (method.id === MethodId.ChannelCloseOk) this.finishClose();
      else if (method.id === MethodId.ChannelClose) this.connection.send(this.id, { id: MethodId.ChannelCloseOk });
      return;
    }
    try {
      if (this.pending) {
        throw unexpectedFrame(
          `expected content header for class ${this.pending.classId}, got non content header frame instead`,
        );
      }
      this.dispatch(method);
    } catch (err) {
      this.fail(err, method);
    }
  }

  private dispatch(method: AmqpMethod): void {
    if (this.state === "opening" && method.id !== MethodId.ChannelOpen) {
      throw new AmqpError(ReplyCode.CHANNEL_ERROR, "expected 'channel.open'");
    }
    if (!CLIENT_METHODS.has(method.id)) throw commandInvalid(`unimplemented method ${methodName(method.id)}`);
    if (METHODS.get(method.id)?.content) {
      this.pending = {
        method, classId: method.id >>> 16, bodySize: 0, properties: undefined, body: undefined, received: 0,
      };
      return;
    }
    if (method.id >>> 16 === 20) handleChannelMethod(this, method);
    else handlerFor(method.id)(this, method, undefined);
  }

  onContentFrame(type: number, r: Reader): void {
    if (this.state === "closing") return;
    const pending = this.pending;
    try {
      if (!pending) throw unexpectedFrame("expected method frame, got non method frame instead");
      if (type === FRAME_BODY) return this.onBody(pending, r);
      if (pending.properties) throw unexpectedFrame("expected content body, got non content body frame instead");
      const header = readContentHeader(r);
      if (header.classId !== pending.classId) {
        throw unexpectedFrame(
          `expected content header for class ${pending.classId}, got one for class ${header.classId} instead`,
        );
      }
      pending.properties = header.properties;
      pending.bodySize = header.bodySize;
      if (header.bodySize === 0) this.completeContent(pending, new Uint8Array(0));
    } catch (err) {
      this.fail(err, pending?.method);
    }
  }

  private onBody(pending: PendingContent, r: Reader): void {
    if (!pending.properties) {
      throw unexpectedFrame(`expected content header for class ${pending.classId}, got non content header frame instead`);
    }
    const length = r.end - r.pos;
    if (pending.received + length > pending.bodySize) {
      throw unexpectedFrame(`content body is larger than the ${pending.bodySize} bytes announced in its header`);
    }
    if (length === pending.bodySize) {
      // The whole body in one frame: one copy out of the socket chunk.
      this.completeContent(pending, r.bytes.slice(r.pos, r.end));
      return;
    }
    pending.body ??= new Uint8Array(pending.bodySize);
    pending.body.set(r.bytes.subarray(r.pos, r.end), pending.received);
    pending.received += length;
    if (pending.received === pending.bodySize) this.completeContent(pending, pending.body);
  }

  private completeContent(pending: PendingContent, body: Uint8Array): void {
    this.pending = undefined;
    handlerFor(pending.method.id)(this, pending.method, { properties: pending.properties!, body });
  }

  /** Soft errors close this channel; hard ones go up to the connection. */
  private fail(err: unknown, method: AmqpMethod | undefined): void {
    if (err instanceof AmqpError && method && err.classId === 0) {
      err.classId = method.id >>> 16;
      err.methodId = method.id & 0xffff;
    }
    if (err instanceof AmqpError && !err.hard) this.closeWithError(err);
    else throw err;
  }

  /** Broker-side channel.close after a soft error; frames are ignored until close-ok. */
  closeWithError(error: AmqpError): void {
    this.connection.broker.log.error(`channel error on connection ${this.connection.name}, channel ${this.id}: ${error.replyText}`);
    this.pending = undefined;
    this.release();
    this.state = "closing";
    this.connection.send(this.id, {
      id: MethodId.ChannelClose,
      replyCode: error.code,
      replyText: error.replyText,
      classId: error.classId,
      methodId: error.methodId,
    });
  }

  /** The close handshake is complete: free the channel number. */
  finishClose(): void {
    this.release();
    this.connection.removeChannel(this);
  }

  /** Releases what the channel holds (consumers, unacked messages: the messaging core adds them). */
  release(): void {
    this.pending = undefined;
  }
}
