// Overview: totals and charts from the live feed, node facts, listeners, alarms, versions.
import { get } from "../api.ts";
import { liveChart } from "../chart.ts";
import { h, replace } from "../dom.ts";
import { bytes, duration, num } from "../format.ts";
import { type LiveEvent, onLive } from "../live.ts";
import { facts, section } from "../ui.ts";
import type { Page } from "./page.ts";

interface Overview {
  cluster_name: string;
  node: string;
  product_name: string;
  product_version: string;
  rabbitmq_version: string;
  erlang_version: string;
  listeners: { protocol: string; ip_address: string; port: number }[];
  exchange_types: { name: string; description: string }[];
}

interface NodeInfo {
  name: string;
  mem_used: number;
  mem_limit: number;
  mem_alarm: boolean;
  disk_free: number;
  disk_free_limit: number;
  disk_free_alarm: boolean;
  fd_used: number;
  fd_total: number;
  sockets_used: number;
  sockets_total: number;
  uptime: number;
  enabled_plugins?: string[];
}

export const overviewPage: Page = {
  id: "",
  title: "Overview",
  visible: () => true,
  async render(view, _params, session) {
    const totals = h("div", { class: "totals", "aria-label": "Totals" });
    const alarms = h("div", { class: "alarms" });
    const rates = liveChart("Message rates", [
      { label: "Publish", color: "#1f5fa8" },
      { label: "Deliver / get", color: "#2a7d2e" },
      { label: "Ack", color: "#a8551f" },
    ], "/s");
    const queued = liveChart("Queued messages", [
      { label: "Ready", color: "#1f5fa8" },
      { label: "Unacked", color: "#a8551f" },
    ], "");
    const node = h("div", null, h("p", null, "Loading…"));
    const about = h("div");
    replace(
      view,
      h("h1", { tabindex: -1 }, "Overview"),
      alarms,
      section("Totals", totals),
      h("div", { class: "charts" }, rates.el, queued.el),
      section("Node", node),
      section("About", about),
    );

    const tile = (label: string, value: number, link?: string) =>
      h(
        "div",
        { class: "tile" },
        h("span", { class: "tile-value", "data-total": label }, num(value)),
        link ? h("a", { href: link }, label) : h("span", null, label),
      );
    const draw = (e: LiveEvent) => {
      const t = e.object_totals, q = e.queue_totals;
      replace(
        totals,
        tile("Connections", t.connections, "#/connections"),
        tile("Channels", t.channels, "#/channels"),
        tile("Exchanges", t.exchanges, "#/exchanges"),
        tile("Queues", t.queues, "#/queues"),
        tile("Consumers", t.consumers),
        tile("Messages", q.messages),
        tile("Ready", q.messages_ready),
        tile("Unacked", q.messages_unacknowledged),
      );
      rates.push(e.at, [e.rates.publish ?? 0, e.rates.deliver_get ?? 0, e.rates.ack ?? 0]);
      queued.push(e.at, [q.messages_ready, q.messages_unacknowledged]);
      replace(
        alarms,
        e.alarms.length === 0
          ? null
          : h("p", { class: "alarm", role: "alert" }, `Resource alarm in effect: ${e.alarms.join(", ")}. Publishers are blocked.`),
      );
    };
    const off = onLive(draw);

    const overview = await get<Overview>("overview");
    replace(
      about,
      facts([
        ["Cluster", overview.cluster_name],
        ["Product", `${overview.product_name} ${overview.product_version} (RabbitMQ ${overview.rabbitmq_version} API)`],
        ["Runtime", overview.erlang_version],
        ["Exchange types", overview.exchange_types.map((t) => t.name).join(", ")],
      ]),
      h("h3", null, "Listeners"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          null,
          h(
            "thead",
            null,
            h("tr", null, h("th", { scope: "col" }, "Protocol"), h("th", { scope: "col" }, "Bound to"), h("th", { scope: "col" }, "Port")),
          ),
          h(
            "tbody",
            null,
            ...overview.listeners.map((l) =>
              h("tr", null, h("td", null, l.protocol), h("td", null, l.ip_address), h("td", null, String(l.port)))
            ),
          ),
        ),
      ),
    );
    if (session.is("monitoring")) {
      const nodes = await get<NodeInfo[]>("nodes");
      replace(
        node,
        ...nodes.map((n) =>
          facts([
            ["Name", n.name],
            ["Uptime", duration(n.uptime / 1000)],
            [
              "Memory",
              h(
                "span",
                { class: n.mem_alarm ? "bad" : "" },
                `${bytes(n.mem_used)} of ${bytes(n.mem_limit)} high watermark${n.mem_alarm ? " (alarm)" : ""}`,
              ),
            ],
            [
              "Disk free",
              h(
                "span",
                { class: n.disk_free_alarm ? "bad" : "" },
                `${bytes(n.disk_free)} (limit ${bytes(n.disk_free_limit)})${n.disk_free_alarm ? " (alarm)" : ""}`,
              ),
            ],
            ["File descriptors", `${num(n.fd_used)} of ${num(n.fd_total)}`],
            ["Sockets", `${num(n.sockets_used)} of ${num(n.sockets_total)}`],
            ["Plugins", (n.enabled_plugins ?? []).join(", ")],
          ])
        ),
      );
    } else {
      replace(node, facts([["Name", overview.node]]), h("p", null, "Node statistics need the monitoring tag."));
    }
    return () => {
      off();
      rates.dispose();
      queued.dispose();
    };
  },
};
