// Parts the resource pages share: vhost choices, bindings tables, the publish form.
import { api, get } from "../api.ts";
import { h, href, path } from "../dom.ts";
import { args } from "../format.ts";
import { act, form, type ListView, listView, parseJsonObject } from "../ui.ts";

export async function vhostNames(): Promise<string[]> {
  return (await get<{ name: string }[]>("vhosts")).map((v) => v.name);
}

export interface Binding {
  source: string;
  vhost: string;
  destination: string;
  destination_type: "queue" | "exchange";
  routing_key: string;
  arguments: Record<string, unknown>;
  properties_key: string;
}

const exchangeLink = (vhost: string, name: string) =>
  h("a", { href: href("exchanges", vhost, name || "amq.default") }, name || "(AMQP default)");
const destinationLink = (b: Binding) =>
  b.destination_type === "queue"
    ? h("a", { href: href("queues", b.vhost, b.destination) }, b.destination)
    : exchangeLink(b.vhost, b.destination);

/** Bindings with an Unbind button; `side` is which end to show. */
export function bindingsList(apiPath: string, side: "source" | "destination", label: string): ListView {
  const view: ListView = listView<Binding>({
    path: apiPath,
    label,
    refreshOn: (e) => e.changed.includes("bindings"),
    columns: [
      {
        label: side === "source" ? "From exchange" : "To",
        cell: (b) => (side === "source" ? exchangeLink(b.vhost, b.source) : [destinationLink(b), ` (${b.destination_type})`]),
      },
      { label: "Routing key", cell: (b) => b.routing_key },
      { label: "Arguments", cell: (b) => args(b.arguments) },
      {
        label: "Action",
        cell: (b) =>
          b.source === "" ? "" : h("button", {
            type: "button",
            class: "danger",
            "aria-label": `Unbind ${b.source} from ${b.destination} with key ${b.routing_key}`,
            onclick: async () => {
              const kind = b.destination_type === "queue" ? "q" : "e";
              if (
                await act(
                  () =>
                    api(
                      "DELETE",
                      `${path("bindings", b.vhost, "e", b.source, kind, b.destination)}/${encodeURIComponent(b.properties_key)}`,
                    ),
                  "Unbound",
                )
              ) await view.refresh();
            },
          }, "Unbind"),
      },
    ],
  });
  return view;
}

/** A binding form: from `source` (fixed or typed) to a destination (fixed or typed). */
export function bindForm(vhost: string, fixed: { source?: string; queue?: string }, done: () => void): HTMLElement {
  const fields = [];
  if (fixed.source === undefined) fields.push({ name: "source", label: "From exchange", required: true });
  if (fixed.queue === undefined) {
    fields.push({ name: "kind", label: "To", kind: "select" as const, options: ["queue", "exchange"], value: "queue" });
    fields.push({ name: "destination", label: "Destination name", required: true });
  }
  fields.push({ name: "routing_key", label: "Routing key" }, {
    name: "arguments",
    label: "Arguments (JSON)",
    kind: "textarea" as const,
    placeholder: "{}",
  });
  return form("Add binding", fields, "Bind", async (v) => {
    const source = fixed.source ?? String(v.source);
    const kind = fixed.queue !== undefined ? "q" : v.kind === "exchange" ? "e" : "q";
    const destination = fixed.queue ?? String(v.destination);
    await api("POST", path("bindings", vhost, "e", source, kind, destination), {
      body: { routing_key: v.routing_key, arguments: parseJsonObject(String(v.arguments), "Arguments") },
    });
    done();
    return `Bound ${destination} to ${source || "(AMQP default)"}`;
  });
}

/** Publish through an exchange (the default one with the queue's name as key, from a queue page). */
export function publishForm(vhost: string, exchange: string, routingKey?: string): HTMLElement {
  const fields = [];
  if (routingKey === undefined) fields.push({ name: "routing_key", label: "Routing key" });
  fields.push(
    {
      name: "delivery_mode",
      label: "Delivery mode",
      kind: "select" as const,
      options: ["1 - non-persistent", "2 - persistent"],
      value: "2 - persistent",
    },
    { name: "headers", label: "Headers (JSON)", kind: "textarea" as const, placeholder: "{}" },
    { name: "properties", label: "Properties (JSON)", kind: "textarea" as const, placeholder: '{"content_type": "text/plain"}' },
    { name: "payload", label: "Payload", kind: "textarea" as const },
    { name: "base64", label: "Payload is base64", kind: "checkbox" as const },
  );
  return form("Publish message", fields, "Publish message", async (v) => {
    const properties = parseJsonObject(String(v.properties), "Properties");
    properties.delivery_mode = String(v.delivery_mode).startsWith("2") ? 2 : 1;
    const headers = parseJsonObject(String(v.headers), "Headers");
    if (Object.keys(headers).length > 0) properties.headers = headers;
    const answer = await api<{ routed: boolean }>("POST", path("exchanges", vhost, exchange || "amq.default", "publish"), {
      body: { properties, routing_key: routingKey ?? v.routing_key, payload: v.payload, payload_encoding: v.base64 ? "base64" : "string" },
    });
    if (!answer.routed) throw new Error("Message published, but not routed to any queue");
    return "Message published";
  });
}
