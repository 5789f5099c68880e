// Errors the management API answers with, in RabbitMQ's JSON shape {error, reason}.
import { AmqpError } from "../amqp/errors.ts";
import { ReplyCode } from "../amqp/spec/constants.gen.ts";
import { ManagementError } from "../broker/management.ts";
import { PolicyError } from "../broker/policy.ts";

export class HttpError extends Error {
  constructor(readonly status: 400 | 401 | 404 | 405 | 500 | 503, readonly error: string, readonly reason: string | string[]) {
    super(String(reason));
  }
}

export const badRequest = (reason: string | string[]) => new HttpError(400, "bad_request", reason);
export const notFound = () => new HttpError(404, "Object Not Found", "Not Found");
export const notAuthorised = (reason: string) => new HttpError(401, "not_authorised", reason);
export const methodNotAllowed = (reason: string) => new HttpError(405, "method_not_allowed", reason);

/**
 * An AMQP error raised by the broker during an HTTP request, as rabbit_mgmt_util reports it:
 * 404 for a missing resource, 401 for a refused access, 400 with the bare text otherwise
 * (e.g. an inequivalent redeclare).
 */
export function fromAmqpError(err: AmqpError): HttpError {
  if (err.code === ReplyCode.NOT_FOUND) return notFound();
  if (err.code === ReplyCode.ACCESS_REFUSED) return notAuthorised("Access refused.");
  return badRequest(err.message);
}

/**
 * A refusal from the broker's management API or policy validation: a missing user or vhost is
 * 404, anything invalid is 400 naming it (RabbitMQ prefixes policy errors "Validation failed").
 */
export function fromManagementError(err: ManagementError | PolicyError): HttpError {
  if (err instanceof ManagementError && err.kind === "not_found") return notFound();
  return badRequest(err instanceof PolicyError ? `Validation failed\n\n${err.message}\n` : err.message);
}

/** The body of an error response. */
export function errorBody(err: HttpError): { error: string; reason: string | string[] } {
  return { error: err.error, reason: err.reason };
}
