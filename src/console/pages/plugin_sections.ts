// Sections a plugin adds to an exchange's page, shown when the plugin's endpoint answers:
// held delayed messages of an x-delayed-message exchange (rabbitmq_delayed_message_exchange) at
// GET /api/exchanges/{vhost}/{name}/delayed, paged like any listing.
import { answers, get } from "../api.ts";
import { h, path } from "../dom.ts";
import { args, num } from "../format.ts";
import { type ListView, listView, section } from "../ui.ts";

export interface ExtraSection {
  el: HTMLElement;
  dispose(): void;
}

type Row = Record<string, unknown>;

/** A cell for a value whose shape the console does not know in advance. */
export const anyCell = (v: unknown) => (typeof v === "number" ? num(v) : typeof v === "object" && v !== null ? args(v) : String(v ?? ""));

/** Columns from the keys of the rows (a plugin's listing the console has no schema for). */
export function columnsOf(rows: Row[], preferred: string[]): string[] {
  const keys = new Set<string>();
  for (const r of rows.slice(0, 20)) for (const k of Object.keys(r)) keys.add(k);
  const first = preferred.filter((k) => keys.has(k));
  return [...first, ...[...keys].filter((k) => !first.includes(k))].slice(0, 10);
}

/** A list of a plugin's objects whose columns follow the first page's keys. */
export function genericList(apiPath: string, label: string, preferred: string[], paged: boolean): ListView {
  let columns: string[] = preferred;
  const view: ListView = listView<Row>({
    path: apiPath,
    label,
    paged,
    refreshOn: (e) => e.changed.length > 0 || (e.rates.publish ?? 0) > 0,
    columns: [],
  });
  // The first answer decides the columns; the list is then redrawn with them.
  void get<Row[] | { items: Row[] }>(paged ? `${apiPath}?page=1&page_size=20` : apiPath).then((answer) => {
    const rows = Array.isArray(answer) ? answer : answer.items;
    columns = columnsOf(rows, preferred);
    if (columns.length === 0) columns = preferred;
    const replacement = listView<Row>({
      path: apiPath,
      label,
      paged,
      refreshOn: (e) => e.changed.length > 0 || (e.rates.publish ?? 0) > 0,
      columns: columns.map((k) => ({ label: k, sort: k, cell: (r: Row) => anyCell(r[k]) })),
    });
    view.dispose();
    view.el.replaceWith(replacement.el);
    Object.assign(view, replacement);
  }).catch(() => {});
  return view;
}

export async function extraExchangeSections(x: { name: string; vhost: string; type: string }): Promise<ExtraSection[]> {
  const out: ExtraSection[] = [];
  if (x.type === "x-delayed-message") {
    const apiPath = path("exchanges", x.vhost, x.name, "delayed");
    if (await answers(apiPath)) {
      const list = genericList(apiPath, "delayed messages", ["routing_key", "deliver_at", "delay", "payload_bytes", "properties"], true);
      out.push({ el: section("Held delayed messages", list.el), dispose: () => list.dispose() });
    } else {
      out.push({
        el: section(
          "Held delayed messages",
          h(
            "p",
            null,
            "The delayed-message plugin does not list held messages on this node (GET /api/exchanges/…/delayed does not answer).",
          ),
        ),
        dispose: () => {},
      });
    }
  }
  return out;
}
