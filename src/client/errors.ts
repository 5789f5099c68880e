// Why a client connection or channel ended, as an Error: the server's close (reply code and text,
// the method that caused it), a socket failure, or a handshake that did not complete.
import { isHardError, replyCodeName } from "../amqp/spec/constants.gen.ts";
import { methodName } from "../amqp/spec/methods.gen.ts";

export type ClosedBy = "server" | "client" | "socket";

export class ClientError extends Error {
  override name = "ClientError";
  constructor(
    message: string,
    /** The AMQP reply code (0 for a socket failure or a timeout). */
    readonly code: number,
    /** Who ended it: the server's close, our own close, or the socket. */
    readonly by: ClosedBy,
    /** The method the server blamed, as "queue.declare" ("" when none). */
    readonly method = "",
    /** The connection ended (not only a channel). */
    readonly connectionLevel = true,
  ) {
    super(message);
  }
}

/** The server closed the connection or a channel with `code` and `text`. */
export function serverClosed(what: "connection" | "channel", code: number, text: string, classId: number, methodId: number): ClientError {
  const method = classId === 0 ? "" : methodName((classId << 16) | methodId);
  const blamed = method === "" ? "" : ` (on ${method})`;
  const name = text.startsWith(replyCodeName(code)) ? text : `${replyCodeName(code)} - ${text}`;
  return new ClientError(
    `${what} closed by server: ${code} ${name}${blamed}`,
    code,
    "server",
    method,
    what === "connection" || isHardError(code),
  );
}

export function socketClosed(reason: string): ClientError {
  return new ClientError(reason, 0, "socket");
}
