import { isHardError, ReplyCode, replyCodeName } from "./spec/constants.gen.ts";
import { utf8Length } from "./utf8.ts";

/**
 * A protocol error as RabbitMQ reports it. Domain code throws it; only the connection turns it
 * into channel.close (soft codes) or connection.close (hard codes).
 */
export class AmqpError extends Error {
  readonly code: number;
  /** The method that caused the error, reported back in the close frame (0 when none). */
  classId: number;
  methodId: number;

  constructor(code: number, text: string, classId = 0, methodId = 0) {
    super(text);
    this.name = "AmqpError";
    this.code = code;
    this.classId = classId;
    this.methodId = methodId;
  }

  /** Hard errors close the connection; soft errors close only the channel. */
  get hard(): boolean {
    return isHardError(this.code);
  }

  /** The reply text as RabbitMQ words it: `NOT_FOUND - no queue 'q' in vhost '/'`. */
  get replyText(): string {
    const text = `${replyCodeName(this.code)} - ${this.message}`;
    return utf8Length(text) > 255 ? truncateUtf8(text, 252) + "..." : text;
  }
}

export const frameError = (text: string) => new AmqpError(ReplyCode.FRAME_ERROR, text);
export const syntaxError = (text: string) => new AmqpError(ReplyCode.SYNTAX_ERROR, text);
export const commandInvalid = (text: string) => new AmqpError(ReplyCode.COMMAND_INVALID, text);
export const channelError = (text: string) => new AmqpError(ReplyCode.CHANNEL_ERROR, text);
export const unexpectedFrame = (text: string) => new AmqpError(ReplyCode.UNEXPECTED_FRAME, text);
export const notAllowed = (text: string) => new AmqpError(ReplyCode.NOT_ALLOWED, text);
export const notImplemented = (text: string) => new AmqpError(ReplyCode.NOT_IMPLEMENTED, text);
export const accessRefused = (text: string) => new AmqpError(ReplyCode.ACCESS_REFUSED, text);
export const internalError = (text: string) => new AmqpError(ReplyCode.INTERNAL_ERROR, text);
export const preconditionFailed = (text: string) => new AmqpError(ReplyCode.PRECONDITION_FAILED, text);

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, cut at a character boundary. */
function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = utf8Length(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}
