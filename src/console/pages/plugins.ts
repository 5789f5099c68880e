// Pages of plugins: each shows only when its API answers (probe), so the console needs no
// change when the plugin lands, and hides the page on a node where it is disabled.
import { h, replace } from "../dom.ts";
import type { Page } from "./page.ts";
import { genericList } from "./plugin_sections.ts";

/** A page listing a plugin's objects at `probe`, with the columns RabbitMQ's own page shows first. */
function pluginListPage(id: string, title: string, probe: string, preferred: string[], intro: string): Page {
  return {
    id,
    title,
    probe,
    visible: () => true,
    render(view) {
      const list = genericList(probe, title.toLowerCase(), preferred, false);
      replace(view, h("h1", { tabindex: -1 }, title), h("p", null, intro), list.el);
      return () => list.dispose();
    },
  };
}

export const shovelsPage = pluginListPage(
  "shovels",
  "Shovels",
  "shovels",
  [
    "name",
    "vhost",
    "type",
    "state",
    "src_uri",
    "src_queue",
    "src_exchange",
    "dest_uri",
    "dest_queue",
    "dest_exchange",
    "failover_count",
    "reason",
  ],
  "Shovels running on this node (rabbitmq_shovel), from GET /api/shovels. src_uri and dest_uri are the nodes connected to now; failover_count counts moves to another URI of a list.",
);

export const federationPage = pluginListPage(
  "federation",
  "Federation links",
  "federation-links",
  [
    "upstream",
    "vhost",
    "type",
    "exchange",
    "queue",
    "status",
    "uri",
    "local_connection",
    "failover_count",
    "error",
  ],
  "Federation links of this node (rabbitmq_federation), from GET /api/federation-links. uri is the upstream node connected to now; failover_count counts moves to another URI of the upstream's list.",
);

export const PLUGIN_PAGES: readonly Page[] = [shovelsPage, federationPage];
