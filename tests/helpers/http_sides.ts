// The management APIs a differential HTTP test runs the same assertions against: Warren's, and
// the reference RabbitMQ's when RABBITMQ_REF_HTTP is set (its credentials taken from that URL).
import { basic } from "./http.ts";

export interface HttpSide {
  name: string;
  base: () => string;
  auth: string;
}

/** The reference's management API, or undefined when RABBITMQ_REF_HTTP is unset. */
export function referenceSide(): HttpSide | undefined {
  const ref = process.env.RABBITMQ_REF_HTTP;
  if (!ref) return undefined;
  const url = new URL(ref);
  return {
    name: "RabbitMQ",
    base: () => `${url.protocol}//${url.host}`,
    auth: basic(decodeURIComponent(url.username) || "guest", decodeURIComponent(url.password) || "guest"),
  };
}

/** Warren at `warrenBase()` (as guest), then the reference if there is one. */
export function httpSides(warrenBase: () => string): HttpSide[] {
  const ref = referenceSide();
  return [{ name: "Warren", base: warrenBase, auth: basic("guest", "guest") }, ...(ref ? [ref] : [])];
}
