// Connections: the list, one connection's details and channels, and closing it with a reason.
import { api, get } from "../api.ts";
import { h, href, path, replace } from "../dom.ts";
import { bytes, num, rate } from "../format.ts";
import { busy, facts, form, listView, section } from "../ui.ts";
import type { Page } from "./page.ts";

interface Connection {
  name: string;
  user: string;
  vhost: string;
  state: string;
  channels: number;
  protocol: string;
  peer_host: string;
  peer_port: number;
  ssl: boolean;
  frame_max: number;
  timeout: number;
  connected_at: number;
  recv_oct: number;
  send_oct: number;
  recv_oct_details?: { rate: number };
  send_oct_details?: { rate: number };
  client_properties?: { product?: string; version?: string; platform?: string; connection_name?: string };
}

interface Channel {
  name: string;
  number: number;
  user: string;
  vhost: string;
  prefetch_count: number;
  messages_unacknowledged: number;
  consumer_count: number;
  confirm: boolean;
  transactional: boolean;
  connection_details?: { name: string };
  message_stats?: { publish_details?: { rate: number }; deliver_get_details?: { rate: number }; ack_details?: { rate: number } };
}

export const channelColumns = [
  {
    label: "Channel",
    sort: "name",
    cell: (c: Channel) => c.connection_details ? h("a", { href: href("connections", c.connection_details.name) }, c.name) : c.name,
  },
  { label: "User", sort: "user", cell: (c: Channel) => c.user },
  { label: "Vhost", sort: "vhost", cell: (c: Channel) => c.vhost },
  { label: "Mode", cell: (c: Channel) => [c.confirm ? "confirm" : "", c.transactional ? "tx" : ""].filter(Boolean).join(" ") },
  { label: "Prefetch", sort: "prefetch_count", cell: (c: Channel) => num(c.prefetch_count) },
  { label: "Unacked", sort: "messages_unacknowledged", cell: (c: Channel) => num(c.messages_unacknowledged) },
  { label: "Consumers", sort: "consumer_count", cell: (c: Channel) => num(c.consumer_count) },
  { label: "Publish", cell: (c: Channel) => rate(c.message_stats?.publish_details?.rate ?? 0) },
  { label: "Deliver / get", cell: (c: Channel) => rate(c.message_stats?.deliver_get_details?.rate ?? 0) },
];

export const connectionsPage: Page = {
  id: "connections",
  title: "Connections",
  visible: () => true,
  async render(view, params) {
    if (params[0] !== undefined) return await detail(view, params[0]);
    const list = listView<Connection>({
      path: "connections",
      label: "connections",
      paged: true,
      refreshOn: busy("connections", "channels"),
      columns: [
        { label: "Name", sort: "name", cell: (c) => h("a", { href: href("connections", c.name) }, c.name) },
        { label: "User", sort: "user", cell: (c) => c.user },
        { label: "Vhost", sort: "vhost", cell: (c) => c.vhost },
        { label: "Client", cell: (c) => [c.client_properties?.product, c.client_properties?.version].filter(Boolean).join(" ") },
        { label: "State", sort: "state", cell: (c) => c.state },
        { label: "Channels", sort: "channels", cell: (c) => num(c.channels) },
        { label: "TLS", cell: (c) => (c.ssl ? "yes" : "") },
        { label: "From client", cell: (c) => rate(c.recv_oct_details?.rate ?? 0).replace("/s", " B/s") },
        { label: "To client", cell: (c) => rate(c.send_oct_details?.rate ?? 0).replace("/s", " B/s") },
      ],
    });
    replace(view, h("h1", { tabindex: -1 }, "Connections"), list.el);
    return list.dispose;
  },
};

async function detail(view: HTMLElement, name: string) {
  const c = await get<Connection>(path("connections", name));
  const channels = listView<Channel>({
    path: path("connections", name, "channels"),
    label: "channels",
    columns: channelColumns,
    refreshOn: busy("channels"),
  });
  replace(
    view,
    h("h1", { tabindex: -1 }, `Connection ${c.name}`),
    h("p", null, h("a", { href: "#/connections" }, "All connections")),
    section(
      "Details",
      facts([
        ["User", c.user],
        ["Vhost", c.vhost],
        ["State", c.state],
        ["Protocol", c.protocol],
        ["Peer", `${c.peer_host}:${c.peer_port}`],
        ["TLS", c.ssl ? "yes" : "no"],
        ["Client", [c.client_properties?.product, c.client_properties?.version, c.client_properties?.platform].filter(Boolean).join(" ")],
        ["Client-provided name", c.client_properties?.connection_name ?? ""],
        ["Heartbeat", `${c.timeout} s`],
        ["Frame max", num(c.frame_max)],
        ["Connected at", new Date(c.connected_at).toLocaleString()],
        ["Received", bytes(c.recv_oct)],
        ["Sent", bytes(c.send_oct)],
      ]),
    ),
    section("Channels", channels.el),
    section(
      "Close this connection",
      form(
        "Close connection",
        [
          { name: "reason", label: "Reason (sent to the client)", value: "Closed via management console" },
        ],
        "Force close",
        async (v) => {
          await api("DELETE", path("connections", name), { headers: { "x-reason": String(v.reason) } });
          location.hash = "#/connections";
          return `Connection ${name} closed`;
        },
      ),
    ),
  );
  return channels.dispose;
}

export const channelsPage: Page = {
  id: "channels",
  title: "Channels",
  visible: () => true,
  render(view) {
    const list = listView<Channel>({
      path: "channels",
      label: "channels",
      paged: true,
      columns: channelColumns,
      refreshOn: busy("channels"),
    });
    replace(view, h("h1", { tabindex: -1 }, "Channels"), list.el);
    return list.dispose;
  },
};
