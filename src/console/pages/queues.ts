// Queues: the list (paged, sorted and filtered by the API, so 10,000 queues stay fast), adding
// one, and a queue's page: counts, consumers, bindings, get messages, publish, purge, delete.
import { answers, api, get } from "../api.ts";
import { h, href, path, replace } from "../dom.ts";
import { args, bytes, num, rate, yesNo } from "../format.ts";
import { liveChart } from "../chart.ts";
import { onLive } from "../live.ts";
import { act, busy, facts, form, listView, parseJsonObject, section } from "../ui.ts";
import { bindForm, bindingsList, publishForm, vhostNames } from "./common.ts";
import type { Page } from "./page.ts";

interface Queue {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  auto_delete: boolean;
  exclusive: boolean;
  arguments: Record<string, unknown>;
  policy?: string | null;
  state: string;
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
  message_bytes?: number;
  consumers?: number;
  memory?: number;
  message_stats?: { publish_details?: { rate: number }; deliver_get_details?: { rate: number }; ack_details?: { rate: number } };
  consumer_details?: {
    consumer_tag: string;
    channel_details: { name: string; connection_name: string };
    ack_required: boolean;
    prefetch_count: number;
    exclusive: boolean;
  }[];
  effective_policy_definition?: Record<string, unknown>;
}

interface GotMessage {
  payload: string;
  payload_bytes: number;
  payload_encoding: string;
  redelivered: boolean;
  exchange: string;
  routing_key: string;
  message_count: number;
  properties: Record<string, unknown>;
}

/**
 * RabbitMQ's "Move messages" (shovel management): a dynamic shovel from this queue to another
 * in the same vhost that deletes itself once it moved the messages there now. Shown only when
 * the shovel plugin's API answers.
 */
function moveForm(vhost: string, name: string): HTMLElement {
  return form("Move messages", [{ name: "destination", label: "Destination queue", required: true }], "Move messages", async (v) => {
    const uri = `amqp:///${encodeURIComponent(vhost)}`;
    await api("PUT", path("parameters", "shovel", vhost, `Move from ${name}`), {
      body: {
        component: "shovel",
        vhost,
        name: `Move from ${name}`,
        value: {
          "src-protocol": "amqp091",
          "src-uri": uri,
          "src-queue": name,
          "dest-protocol": "amqp091",
          "dest-uri": uri,
          "dest-queue": String(v.destination),
          "ack-mode": "on-confirm",
          "src-delete-after": "queue-length",
        },
      },
    });
    return `Moving the messages of ${name} to ${v.destination} (shovel "Move from ${name}")`;
  });
}

const features = (q: Queue) =>
  [q.durable ? "D" : "", q.auto_delete ? "AD" : "", q.exclusive ? "Excl" : "", args(q.arguments)].filter(Boolean).join(" ");

export const queuesPage: Page = {
  id: "queues",
  title: "Queues",
  visible: () => true,
  async render(view, params) {
    if (params.length >= 2) return await detail(view, params[0]!, params[1]!);
    const list = listView<Queue>({
      path: "queues",
      label: "queues",
      paged: true,
      refreshOn: busy("queues"),
      columns: [
        { label: "Vhost", sort: "vhost", cell: (q) => q.vhost },
        { label: "Name", sort: "name", cell: (q) => h("a", { href: href("queues", q.vhost, q.name) }, q.name) },
        { label: "Type", sort: "type", cell: (q) => q.type },
        { label: "Features", cell: features },
        { label: "Policy", cell: (q) => q.policy ?? "" },
        { label: "State", sort: "state", cell: (q) => q.state },
        { label: "Ready", sort: "messages_ready", cell: (q) => num(q.messages_ready ?? 0) },
        { label: "Unacked", sort: "messages_unacknowledged", cell: (q) => num(q.messages_unacknowledged ?? 0) },
        { label: "Total", sort: "messages", cell: (q) => num(q.messages ?? 0) },
        { label: "Consumers", sort: "consumers", cell: (q) => num(q.consumers ?? 0) },
        { label: "Incoming", sort: "message_stats.publish_details.rate", cell: (q) => rate(q.message_stats?.publish_details?.rate ?? 0) },
        {
          label: "Deliver / get",
          sort: "message_stats.deliver_get_details.rate",
          cell: (q) => rate(q.message_stats?.deliver_get_details?.rate ?? 0),
        },
      ],
    });
    const vhosts = await vhostNames();
    replace(
      view,
      h("h1", { tabindex: -1 }, "Queues"),
      list.el,
      section(
        "Add a queue",
        form(
          "Add queue",
          [
            { name: "vhost", label: "Virtual host", kind: "select", options: vhosts, value: "/" },
            { name: "name", label: "Name", required: true },
            { name: "type", label: "Type", kind: "select", options: ["classic", "quorum", "stream"], value: "classic" },
            { name: "durable", label: "Durable", kind: "checkbox", value: true },
            { name: "auto_delete", label: "Auto delete", kind: "checkbox", value: false },
            { name: "arguments", label: "Arguments (JSON)", kind: "textarea", placeholder: '{"x-message-ttl": 60000}' },
          ],
          "Add queue",
          async (v) => {
            const a = parseJsonObject(String(v.arguments), "Arguments");
            if (v.type !== "classic") a["x-queue-type"] = v.type;
            await api("PUT", path("queues", String(v.vhost), String(v.name)), {
              body: { durable: v.durable, auto_delete: v.auto_delete, arguments: a },
            });
            await list.refresh();
            return `Queue ${v.name} declared`;
          },
        ),
      ),
    );
    return list.dispose;
  },
};

async function detail(view: HTMLElement, vhost: string, name: string) {
  const apiPath = path("queues", vhost, name);
  const details = h("div");
  const consumers = h("div");
  const draw = (q: Queue) => {
    replace(
      details,
      facts([
        ["Type", q.type],
        ["State", q.state],
        ["Features", features(q)],
        ["Policy", q.policy ?? ""],
        ["Effective policy definition", args(q.effective_policy_definition ?? {})],
        ["Ready", h("span", { "data-count": "ready" }, num(q.messages_ready ?? 0))],
        ["Unacked", h("span", { "data-count": "unacked" }, num(q.messages_unacknowledged ?? 0))],
        ["Total", h("span", { "data-count": "total" }, num(q.messages ?? 0))],
        ["Message bytes", bytes(q.message_bytes ?? 0)],
        ["Memory", bytes(q.memory ?? 0)],
        ["Consumers", num(q.consumers ?? 0)],
        ["Incoming", rate(q.message_stats?.publish_details?.rate ?? 0)],
        ["Deliver / get", rate(q.message_stats?.deliver_get_details?.rate ?? 0)],
        ["Ack", rate(q.message_stats?.ack_details?.rate ?? 0)],
      ]),
    );
    const list = q.consumer_details ?? [];
    replace(
      consumers,
      list.length === 0 ? h("p", { class: "empty" }, "No consumers.") : h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          null,
          h(
            "thead",
            null,
            h("tr", null, ...["Channel", "Tag", "Ack required", "Exclusive", "Prefetch"].map((t) => h("th", { scope: "col" }, t))),
          ),
          h(
            "tbody",
            null,
            ...list.map((c) =>
              h(
                "tr",
                null,
                h("td", null, h("a", { href: href("connections", c.channel_details.connection_name) }, c.channel_details.name)),
                h("td", null, c.consumer_tag),
                h("td", null, yesNo(c.ack_required)),
                h("td", null, yesNo(c.exclusive)),
                h("td", null, num(c.prefetch_count)),
              )
            ),
          ),
        ),
      ),
    );
  };
  let current: Queue | undefined;
  const reload = async () => {
    try {
      draw(current = await get<Queue>(apiPath));
    } catch (err) {
      replace(details, h("p", { class: "form-error", role: "alert" }, `Cannot read the queue: ${(err as Error).message}`));
    }
  };
  const [first, shovels] = await Promise.all([get<Queue>(apiPath), answers("shovels")]);
  draw(current = first);
  const chart = liveChart("This queue's messages", [
    { label: "Ready", color: "#1f5fa8" },
    { label: "Unacked", color: "#a8551f" },
  ], "");
  const bindings = bindingsList(path("queues", vhost, name, "bindings"), "source", "bindings");
  const messages = h("div", { class: "messages", "aria-live": "polite" });
  let pending = false;
  const off = onLive(async (e) => {
    if (!pending && busy("queues", "bindings")(e)) {
      pending = true;
      await reload();
      pending = false;
    }
    chart.push(e.at, [current?.messages_ready ?? 0, current?.messages_unacknowledged ?? 0]);
  });
  replace(
    view,
    h("h1", { tabindex: -1 }, `Queue ${first.name}`),
    h("p", null, h("a", { href: "#/queues" }, "All queues"), ` · vhost ${vhost}`),
    section("Details", details),
    h("div", { class: "charts" }, chart.el),
    section("Consumers", consumers),
    section("Bindings", bindings.el, bindForm(vhost, { queue: name }, () => void bindings.refresh())),
    section("Publish message", publishForm(vhost, "", name)),
    section(
      "Get messages",
      h(
        "p",
        null,
        "Getting messages with a requeue mode still takes them off the queue for a moment: other consumers see them redelivered.",
      ),
      form(
        "Get messages",
        [
          {
            name: "ackmode",
            label: "Ack mode",
            kind: "select",
            options: ["ack_requeue_true", "ack_requeue_false", "reject_requeue_true", "reject_requeue_false"],
            value: "ack_requeue_true",
          },
          { name: "encoding", label: "Encoding", kind: "select", options: ["auto", "base64"], value: "auto" },
          { name: "count", label: "Messages", kind: "number", value: "1" },
          { name: "truncate", label: "Truncate payload at (bytes)", kind: "number", value: "50000" },
        ],
        "Get messages",
        async (v) => {
          const got = await api<GotMessage[]>("POST", `${apiPath}/get`, {
            body: { count: Number(v.count), ackmode: v.ackmode, encoding: v.encoding, truncate: Number(v.truncate) },
          });
          replace(
            messages,
            got.length === 0 ? h("p", { class: "empty" }, "Queue is empty.") : got.map((m, i) =>
              h(
                "article",
                { class: "message" },
                h("h4", null, `Message ${i + 1}`),
                facts([
                  ["Exchange", m.exchange || "(AMQP default)"],
                  ["Routing key", m.routing_key],
                  ["Redelivered", yesNo(m.redelivered)],
                  ["Properties", args(m.properties)],
                  ["Payload", `${num(m.payload_bytes)} bytes, encoding ${m.payload_encoding}`],
                ]),
                h("pre", { class: "payload" }, m.payload),
              )
            ),
          );
          await reload();
          return `${got.length} message${got.length === 1 ? "" : "s"} got`;
        },
      ),
      messages,
    ),
    shovels ? section("Move messages", moveForm(vhost, name)) : null,
    section(
      "Purge and delete",
      h("button", {
        type: "button",
        class: "danger",
        onclick: async () => {
          if (!confirm(`Purge all messages of queue ${name}?`)) return;
          await act(() => api("DELETE", `${apiPath}/contents`), `Queue ${name} purged`);
          await reload();
        },
      }, "Purge messages"),
      " ",
      h("button", {
        type: "button",
        class: "danger",
        onclick: async () => {
          if (!confirm(`Delete queue ${name} and its messages?`)) return;
          if (await act(() => api("DELETE", apiPath), `Queue ${name} deleted`)) location.hash = "#/queues";
        },
      }, "Delete queue"),
    ),
  );
  return () => {
    off();
    chart.dispose();
    bindings.dispose();
  };
}
