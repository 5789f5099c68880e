// The console's extension point: a plugin's page appears when its API answers. A third-party
// plugin (loaded with --plugins-dir, as any) serves GET /api/shovels, /api/federation-links and
// an x-delayed-message exchange's /delayed listing; the console then shows the Shovels and
// Federation pages, the queue page's "Move messages", and the held delayed messages. Without
// it (the other tests' broker) none of them shows.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { HAVE_CHROMIUM, launchChromium, login, screenshotDir } from "../helpers/browser.ts";
import { api } from "../helpers/http.ts";

if (!HAVE_CHROMIUM) console.warn("console plugin-page tests skipped: /usr/bin/chromium is missing (Debian: apt-get install chromium)");

const PLUGIN = `
class AllRouter {
  list = [];
  get size() { return this.list.length; }
  bind(routingKey, args, destination) { if (this.has(routingKey, args, destination)) return false; this.list.push({ routingKey, args, destination }); return true; }
  has(k, _a, d) { return this.list.some((b) => b.routingKey === k && b.destination === d); }
  unbind(k, _a, d) { const at = this.list.findIndex((b) => b.routingKey === k && b.destination === d); return at >= 0 && this.list.splice(at, 1).length === 1; }
  route(_k, _m, out) { for (const b of this.list) out.add(b.destination); }
  removeDestination(d) { this.list = this.list.filter((b) => b.destination !== d); }
  bindings() { return this.list; }
}
const held = Array.from({ length: 30 }, (_, i) => ({ routing_key: "held-" + i, deliver_at: 1900000000000 + i, payload_bytes: 10 + i }));
export const plugin = {
  name: "console_fake_plugins",
  description: "Serves the plugin endpoints the console probes",
  exchangeTypes: [{ name: "x-delayed-message", description: "fake", createRouter: () => new AllRouter() }],
  routes(routes) {
    routes.get("/api/shovels", (c) => c.json([{ name: "console-shovel", vhost: "/", type: "dynamic", state: "running", src_uri: "amqp://", src_queue: "a", dest_uri: "amqp://", dest_queue: "b" }]));
    routes.get("/api/federation-links", (c) => c.json([{ upstream: "console-upstream", vhost: "/", type: "exchange", exchange: "fed-x", status: "running", uri: "amqp://far" }]));
    routes.get("/api/exchanges/:vhost/:name/delayed", (c) => {
      const page = Number(c.req.query("page") ?? 1), size = Number(c.req.query("page_size") ?? 100);
      const items = held.slice((page - 1) * size, page * size);
      return c.json({ items, page, page_size: size, page_count: Math.ceil(held.length / size), item_count: items.length, filtered_count: held.length, total_count: held.length });
    });
  },
};
`;

let tb: TestBroker;
let dir: string;
let browser: Browser;
let page: Page;
const shots = HAVE_CHROMIUM ? screenshotDir() : "";

describe.skipIf(!HAVE_CHROMIUM)("plugin pages in the console", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "warren-console-plugin-"));
    await writeFile(join(dir, "console_fake_plugins.js"), PLUGIN);
    // Only the fake plugin: the real delayed-message, shovel and federation plugins would own the
    // same type and paths.
    tb = await startTestBroker({ pluginsDir: dir, plugins: ["console_fake_plugins"] });
    browser = await launchChromium();
    page = await browser.newPage();
    await login(page, tb.httpUrl);
    await page.getByRole("heading", { name: "Overview" }).waitFor();
  });
  afterAll(async () => {
    await browser?.close();
    await tb?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("the Shovels and Federation pages appear and list what the plugin's API answers", async () => {
    const nav = page.getByRole("navigation", { name: "Console pages" });
    await nav.getByRole("link", { name: "Shovels" }).click();
    await page.locator("main table").filter({ hasText: "console-shovel" }).waitFor();
    expect(await page.locator("main thead").textContent()).toContain("src_queue");
    await page.screenshot({ path: join(shots, "plugin-shovels.png"), fullPage: true });
    await nav.getByRole("link", { name: "Federation links" }).click();
    await page.locator("main table").filter({ hasText: "console-upstream" }).waitFor();
  });

  test("an x-delayed-message exchange's page lists its held messages, paged", async () => {
    expect(
      (await api(tb.httpUrl, "PUT", "/api/exchanges/%2F/console-delayed", {
        type: "x-delayed-message",
        arguments: { "x-delayed-type": "direct" },
      })).status,
    ).toBe(201);
    await page.evaluate(`location.hash = "#/exchanges/%2F/console-delayed"`);
    await page.getByRole("heading", { name: "Held delayed messages" }).waitFor();
    await page.locator("main table").filter({ hasText: "held-0" }).waitFor();
    expect(await page.locator("section", { hasText: "Held delayed messages" }).locator(".pager").textContent()).toContain(
      "30 of 30 delayed messages",
    );
    await page.screenshot({ path: join(shots, "plugin-delayed.png"), fullPage: true });
  });

  test("the queue page offers Move messages, and shows the API's reason when the shovel component refuses", async () => {
    await api(tb.httpUrl, "PUT", "/api/queues/%2F/console-move", {});
    await page.evaluate(`location.hash = "#/queues/%2F/console-move"`);
    const move = page.getByRole("form", { name: "Move messages" });
    await move.getByLabel("Destination queue").fill("elsewhere");
    await move.getByRole("button", { name: "Move messages" }).click();
    // This fake plugin has no shovel parameter component: the API says so and the form shows it.
    expect(await page.locator(".form-error").filter({ hasText: /shovel/ }).first().textContent()).toMatch(/component/i);
  });
});
