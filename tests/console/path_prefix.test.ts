// Under management.path_prefix the console is served at <prefix>/ and its relative paths reach
// the API under the prefix too (log in, overview with totals, a queue listed).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { startTestBroker, type TestBroker } from "../helpers/broker.ts";
import { HAVE_CHROMIUM, launchChromium, login } from "../helpers/browser.ts";
import { api } from "../helpers/http.ts";

if (!HAVE_CHROMIUM) console.warn("console path-prefix test skipped: /usr/bin/chromium is missing (Debian: apt-get install chromium)");

let tb: TestBroker;
let browser: Browser;

describe.skipIf(!HAVE_CHROMIUM)("the console under a path prefix", () => {
  beforeAll(async () => {
    tb = await startTestBroker({ httpPathPrefix: "/rabbitmq" });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await tb?.stop();
  });

  test("logs in at /rabbitmq/ and reads the API under the prefix", async () => {
    expect((await fetch(`${tb.httpUrl}/`)).status).toBe(404);
    await api(`${tb.httpUrl}/rabbitmq`, "PUT", "/api/queues/%2F/console-prefixed", {});
    const page = await browser.newPage();
    await login(page, `${tb.httpUrl}/rabbitmq`);
    await page.locator("[data-total=Queues]").filter({ hasText: "1" }).waitFor();
    await page.evaluate(`location.hash = "#/queues"`);
    await page.locator("main table").filter({ hasText: "console-prefixed" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/rabbitmq/");
  });
});
