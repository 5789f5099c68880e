// How RabbitMQ names things in replies and generates names.
import { randomBytes } from "node:crypto";

/** rabbit_misc:rs/1 — "queue 'q' in vhost '/'". */
export function resourceName(kind: "queue" | "exchange", name: string, vhost: string): string {
  return `${kind} '${name}' in vhost '${vhost}'`;
}

/** A server-generated name such as amq.gen-Xq3… or amq.ctag-…, as rabbit_guid makes them. */
export function generatedName(prefix: "amq.gen" | "amq.ctag"): string {
  return `${prefix}-${randomBytes(16).toString("base64url")}`;
}
