// Every page, in the navigation's order. A new resource or plugin page is one module under
// pages/ and one entry here (plugin pages name a probe and appear when it answers).
import { adminPage } from "./admin.ts";
import { channelsPage, connectionsPage } from "./connections.ts";
import { definitionsPage } from "./definitions.ts";
import { exchangesPage } from "./exchanges.ts";
import { overviewPage } from "./overview.ts";
import type { Page } from "./page.ts";
import { PLUGIN_PAGES } from "./plugins.ts";
import { queuesPage } from "./queues.ts";

export const PAGES: readonly Page[] = [
  overviewPage,
  connectionsPage,
  channelsPage,
  exchangesPage,
  queuesPage,
  ...PLUGIN_PAGES,
  adminPage,
  definitionsPage,
];
