// Exchanges: the list (paged, sorted, filtered by the API), adding one, and an exchange's page
// with its bindings both ways, binding, publishing and deleting.
import { api, get } from "../api.ts";
import { h, href, path, replace } from "../dom.ts";
import { args, rate, yesNo } from "../format.ts";
import { act, busy, facts, form, listView, parseJsonObject, section } from "../ui.ts";
import { bindForm, bindingsList, publishForm, vhostNames } from "./common.ts";
import type { Page } from "./page.ts";
import { extraExchangeSections } from "./plugin_sections.ts";

export interface Exchange {
  name: string;
  vhost: string;
  type: string;
  durable: boolean;
  auto_delete: boolean;
  internal: boolean;
  arguments: Record<string, unknown>;
  policy?: string;
  message_stats?: { publish_in_details?: { rate: number }; publish_out_details?: { rate: number } };
}

export const exchangesPage: Page = {
  id: "exchanges",
  title: "Exchanges",
  visible: () => true,
  async render(view, params) {
    if (params.length >= 2) return await detail(view, params[0]!, params[1]!);
    const list = listView<Exchange>({
      path: "exchanges",
      label: "exchanges",
      paged: true,
      refreshOn: busy("exchanges"),
      columns: [
        { label: "Vhost", sort: "vhost", cell: (x) => x.vhost },
        {
          label: "Name",
          sort: "name",
          cell: (x) => h("a", { href: href("exchanges", x.vhost, x.name || "amq.default") }, x.name || "(AMQP default)"),
        },
        { label: "Type", sort: "type", cell: (x) => x.type },
        {
          label: "Features",
          cell: (x) =>
            [x.durable ? "D" : "", x.auto_delete ? "AD" : "", x.internal ? "I" : "", args(x.arguments)].filter(Boolean).join(" "),
        },
        { label: "Policy", cell: (x) => x.policy ?? "" },
        { label: "Rate in", cell: (x) => rate(x.message_stats?.publish_in_details?.rate ?? 0) },
        { label: "Rate out", cell: (x) => rate(x.message_stats?.publish_out_details?.rate ?? 0) },
      ],
    });
    const [vhosts, overview] = await Promise.all([vhostNames(), get<{ exchange_types: { name: string }[] }>("overview")]);
    replace(
      view,
      h("h1", { tabindex: -1 }, "Exchanges"),
      list.el,
      section(
        "Add an exchange",
        form(
          "Add exchange",
          [
            { name: "vhost", label: "Virtual host", kind: "select", options: vhosts, value: "/" },
            { name: "name", label: "Name", required: true },
            { name: "type", label: "Type", kind: "select", options: overview.exchange_types.map((t) => t.name), value: "direct" },
            { name: "durable", label: "Durable", kind: "checkbox", value: true },
            { name: "auto_delete", label: "Auto delete", kind: "checkbox", value: false },
            { name: "internal", label: "Internal", kind: "checkbox", value: false },
            { name: "arguments", label: "Arguments (JSON)", kind: "textarea", placeholder: '{"alternate-exchange": "ae"}' },
          ],
          "Add exchange",
          async (v) => {
            await api("PUT", path("exchanges", String(v.vhost), String(v.name)), {
              body: {
                type: v.type,
                durable: v.durable,
                auto_delete: v.auto_delete,
                internal: v.internal,
                arguments: parseJsonObject(String(v.arguments), "Arguments"),
              },
            });
            await list.refresh();
            return `Exchange ${v.name} declared`;
          },
        ),
      ),
    );
    return list.dispose;
  },
};

async function detail(view: HTMLElement, vhost: string, name: string) {
  const x = await get<Exchange>(path("exchanges", vhost, name));
  const isDefault = x.name === "";
  const outgoing = bindingsList(path("exchanges", vhost, name, "bindings", "source"), "destination", "bindings from this exchange");
  const incoming = bindingsList(path("exchanges", vhost, name, "bindings", "destination"), "source", "bindings to this exchange");
  const extra = await extraExchangeSections(x);
  replace(
    view,
    h("h1", { tabindex: -1 }, `Exchange ${isDefault ? "(AMQP default)" : x.name}`),
    h("p", null, h("a", { href: "#/exchanges" }, "All exchanges"), ` · vhost ${vhost}`),
    section(
      "Details",
      facts([
        ["Type", x.type],
        ["Durable", yesNo(x.durable)],
        ["Auto delete", yesNo(x.auto_delete)],
        ["Internal", yesNo(x.internal)],
        ["Arguments", args(x.arguments)],
        ["Policy", x.policy ?? ""],
        ["Publish in", rate(x.message_stats?.publish_in_details?.rate ?? 0)],
        ["Publish out", rate(x.message_stats?.publish_out_details?.rate ?? 0)],
      ]),
    ),
    isDefault
      ? null
      : section("Bindings from this exchange", outgoing.el, bindForm(vhost, { source: name }, () => void outgoing.refresh())),
    isDefault ? null : section("Bindings to this exchange", incoming.el),
    ...extra.map((s) => s.el),
    section("Publish message", publishForm(vhost, x.name)),
    isDefault || x.name.startsWith("amq.") ? null : section(
      "Delete this exchange",
      h("button", {
        type: "button",
        class: "danger",
        onclick: async () => {
          if (!confirm(`Delete exchange ${x.name}?`)) return;
          if (await act(() => api("DELETE", path("exchanges", vhost, name)), `Exchange ${x.name} deleted`)) location.hash = "#/exchanges";
        },
      }, "Delete exchange"),
    ),
  );
  return () => {
    outgoing.dispose();
    incoming.dispose();
    for (const s of extra) s.dispose();
  };
}
