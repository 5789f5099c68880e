// The web console in headless Chromium against a real broker (in-process, or dist/warren when
// WARREN_BIN is set, as CI runs it): log in, every page with real data, the actions the issue
// lists, errors with the API's reason, tag-based visibility, a chart that moves under load, a
// phone-sized screen, and the banner when the broker goes away. Screenshots of each page go to a
// temp dir (printed), as artefacts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import amqp from "amqplib";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type BrokerUnderTest, startBrokerUnderTest } from "../helpers/broker_under_test.ts";
import { HAVE_CHROMIUM, launchChromium, login, screenshotDir, watchErrors } from "../helpers/browser.ts";
import { api } from "../helpers/http.ts";

if (!HAVE_CHROMIUM) console.warn("console browser tests skipped: /usr/bin/chromium is missing (Debian: apt-get install chromium)");

let tb: BrokerUnderTest;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
const shots = HAVE_CHROMIUM ? screenshotDir() : "";
const amqpUrl = () => `amqp://guest:guest@127.0.0.1:${tb.port}`;
const call = (method: string, path: string, body?: unknown) => api(tb.httpUrl, method, path, body);

async function shot(name: string, target: Page = page): Promise<void> {
  await target.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function open(hash: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}

/** Form controls and buttons of the page with no accessible name (should be none). */
async function unnamed(): Promise<string[]> {
  return await page.evaluate<string[]>(`[...document.querySelectorAll("main input, main select, main textarea, main button")]
    .filter((e) => (e.labels === undefined || e.labels === null || e.labels.length === 0) && !e.getAttribute("aria-label") && !(e.tagName === "BUTTON" && e.textContent.trim() !== ""))
    .map((e) => e.outerHTML.slice(0, 120))`);
}

/** The element's text once it matches. */
async function textOf(selector: string, pattern: RegExp, timeout = 10_000): Promise<string> {
  const loc = page.locator(selector).filter({ hasText: pattern }).first();
  await loc.waitFor({ timeout });
  return (await loc.textContent()) ?? "";
}

describe.skipIf(!HAVE_CHROMIUM)("web console in Chromium", () => {
  beforeAll(async () => {
    tb = await startBrokerUnderTest();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on("dialog", (d) => void d.accept());
    errors = watchErrors(page);
    console.log(`console screenshots: ${shots} (broker: ${tb.kind})`);
  });
  afterAll(async () => {
    await browser?.close();
    await tb?.stop();
  });

  test("the page is served at / with its script and stylesheet, and no credentials are needed for them", async () => {
    for (const path of ["/", "/console/app.js", "/console/app.css"]) {
      const r = await fetch(tb.httpUrl + path);
      expect(r.status).toBe(200);
      expect(r.headers.get("etag")).toBeTruthy();
      const again = await fetch(tb.httpUrl + path, { headers: { "if-none-match": r.headers.get("etag")! } });
      expect(again.status).toBe(304);
    }
    const html = await (await fetch(tb.httpUrl + "/")).text();
    expect(html).toContain('src="console/app.js"');
  });

  test("a wrong password is refused with the API's reason; guest logs in to the overview", async () => {
    await login(page, tb.httpUrl, "guest", "wrong");
    expect(await textOf(".form-error", /Login failed/)).toContain("Login failed");
    expect(page.url()).not.toContain("guest");
    await login(page, tb.httpUrl);
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.locator("[data-total=Exchanges]").filter({ hasText: "7" }).waitFor();
    expect(await page.locator(".facts").first().textContent()).toContain("rabbit@");
    await shot("01-overview");
    // A plugin page shows only when its API answers (tests/console/plugin_pages.test.ts: when it does).
    const nav = page.getByRole("navigation", { name: "Console pages" });
    for (const [probe, title] of [["/api/shovels", "Shovels"], ["/api/federation-links", "Federation links"]]) {
      const answers = (await call("GET", probe!)).status === 200;
      expect({ title, shown: (await nav.getByRole("link", { name: title! }).count()) === 1 }).toEqual({ title, shown: answers });
    }
  });

  test("every page renders with real data", async () => {
    const conn = await amqp.connect(amqpUrl(), { clientProperties: { connection_name: "console-data" } });
    try {
      const ch = await conn.createChannel();
      await ch.assertExchange("console-x", "topic");
      await ch.assertQueue("console-q");
      await ch.bindQueue("console-q", "console-x", "a.#");
      await ch.consume("console-q", () => {}, { consumerTag: "console-tag" });
      await call("PUT", "/api/policies/%2F/console-policy", { pattern: "^console-nothing$", definition: { "max-length": 5 } });

      await open("#/connections");
      await textOf("main table", /amqplib/);
      await shot("02-connections");
      expect(await unnamed()).toEqual([]);
      await open("#/channels");
      await textOf("main table", /guest/);
      await shot("03-channels");
      expect(await unnamed()).toEqual([]);
      await open("#/exchanges");
      await textOf("main table", /console-x/);
      await shot("04-exchanges");
      expect(await unnamed()).toEqual([]);
      await open("#/exchanges/%2F/console-x");
      await textOf("main table", /console-q/);
      await shot("05-exchange");
      expect(await unnamed()).toEqual([]);
      await open("#/queues");
      await textOf("main table", /console-q/);
      await shot("06-queues");
      expect(await unnamed()).toEqual([]);
      await open("#/queues/%2F/console-q");
      await textOf("main table", /console-tag/);
      await textOf("main table", /console-x/);
      await shot("07-queue");
      expect(await unnamed()).toEqual([]);
      await open("#/admin");
      await textOf("main table", /administrator/);
      await shot("08-admin-users");
      expect(await unnamed()).toEqual([]);
      await open("#/admin/users/guest");
      await textOf("main table", /\.\*/);
      await open("#/admin/vhosts");
      await textOf("main table", /\//);
      await open("#/admin/policies");
      await textOf("main table", /console-policy/);
      await shot("09-admin-policies");
      expect(await unnamed()).toEqual([]);
      await open("#/admin/limits");
      await page.getByRole("heading", { name: "Virtual host limits" }).waitFor();
      await open("#/admin/flags");
      await textOf("main table", /quorum_queue/);
      await open("#/definitions");
      await page.getByRole("heading", { name: "Definitions", exact: true }).waitFor();
      await shot("10-definitions");
      expect(await unnamed()).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await conn.close();
      await call("DELETE", "/api/exchanges/%2F/console-x");
      await call("DELETE", "/api/queues/%2F/console-q");
      await call("DELETE", "/api/policies/%2F/console-policy");
    }
  });

  test("names with slashes, spaces, percent signs and markup round-trip through links, and markup stays text", async () => {
    const vhost = "console/vh %";
    const name = `console q/#%? <img src=x onerror="window.__xss=1">`;
    const enc = encodeURIComponent;
    await call("PUT", `/api/vhosts/${enc(vhost)}`, {});
    await call("PUT", `/api/queues/${enc(vhost)}/${enc(name)}`, {});
    try {
      await open("#/queues");
      await page.getByLabel("Filter queues").fill("console q/");
      await page.getByRole("link", { name }).click();
      await page.getByRole("heading", { name: `Queue ${name}` }).waitFor();
      const publish = page.getByRole("form", { name: "Publish message" });
      await publish.getByLabel("Payload", { exact: true }).fill("<b>not bold</b>");
      await publish.getByRole("button", { name: "Publish message" }).click();
      await textOf(".notice", /Message published/);
      await page.getByRole("form", { name: "Get messages" }).getByRole("button", { name: "Get messages" }).click();
      expect(await textOf(".payload", /not bold/)).toBe("<b>not bold</b>");
      expect(await page.evaluate<unknown>("window.__xss")).toBeUndefined();
      expect(await page.locator("main img").count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await call("DELETE", `/api/vhosts/${enc(vhost)}`);
    }
  });

  test("declare a queue, publish and get a message, purge, delete", async () => {
    await open("#/queues");
    const add = page.getByRole("form", { name: "Add queue" });
    await add.getByLabel("Name").fill("console-e2e");
    await add.getByRole("button", { name: "Add queue" }).click();
    await textOf(".notice", /Queue console-e2e declared/);
    expect((await call("GET", "/api/queues/%2F/console-e2e")).status).toBe(200);

    await open("#/queues/%2F/console-e2e");
    const publish = page.getByRole("form", { name: "Publish message" });
    await publish.getByLabel("Payload", { exact: true }).fill("hello from the console");
    await publish.getByRole("button", { name: "Publish message" }).click();
    await textOf(".notice", /Message published/);
    await publish.getByRole("button", { name: "Publish message" }).click();
    await page.locator("[data-count=ready]").filter({ hasText: /^2$/ }).waitFor();

    const getForm = page.getByRole("form", { name: "Get messages" });
    await getForm.getByLabel("Ack mode").selectOption("ack_requeue_false");
    await getForm.getByRole("button", { name: "Get messages" }).click();
    expect(await textOf(".payload", /hello/)).toBe("hello from the console");
    await page.locator("[data-count=ready]").filter({ hasText: /^1$/ }).waitFor();
    await shot("11-queue-get");

    await page.getByRole("button", { name: "Purge messages" }).click();
    await textOf(".notice", /purged/);
    await page.locator("[data-count=total]").filter({ hasText: /^0$/ }).waitFor();
    expect((await call("GET", "/api/queues/%2F/console-e2e")).body.messages).toBe(0);

    await page.getByRole("button", { name: "Delete queue" }).click();
    await textOf(".notice", /Queue console-e2e deleted/);
    expect((await call("GET", "/api/queues/%2F/console-e2e")).status).toBe(404);
  });

  test("declare a stream from the form; publishing works, getting shows the API's reason", async () => {
    try {
      await open("#/queues");
      const add = page.getByRole("form", { name: "Add queue" });
      await add.getByLabel("Name").fill("console-stream");
      await add.getByLabel("Type").selectOption("stream");
      await add.getByRole("button", { name: "Add queue" }).click();
      await textOf(".notice", /Queue console-stream declared/);
      expect((await call("GET", "/api/queues/%2F/console-stream")).body.type).toBe("stream");
      await open("#/queues/%2F/console-stream");
      const publish = page.getByRole("form", { name: "Publish message" });
      await publish.getByLabel("Payload", { exact: true }).fill("into the stream");
      await publish.getByRole("button", { name: "Publish message" }).click();
      await textOf(".notice", /Message published/);
      await page.locator("[data-count=total]").filter({ hasText: /^1$/ }).waitFor();
      const getForm = page.getByRole("form", { name: "Get messages" });
      await getForm.getByRole("button", { name: "Get messages" }).click();
      expect(await textOf(".form-error", /not supported/)).toContain("basic.get not supported by stream queues");
    } finally {
      await call("DELETE", "/api/queues/%2F/console-stream");
    }
  });

  test("a failed action shows the API's reason", async () => {
    await call("PUT", "/api/queues/%2F/console-durable", { durable: true });
    try {
      await open("#/queues");
      const add = page.getByRole("form", { name: "Add queue" });
      await add.getByLabel("Name").fill("console-durable");
      await add.getByLabel("Durable").uncheck();
      await add.getByRole("button", { name: "Add queue" }).click();
      const reason = await textOf(".form-error", /inequivalent arg 'durable'/);
      expect(reason).toContain("inequivalent arg 'durable' for queue 'console-durable' in vhost '/'");
      await shot("12-error");
    } finally {
      await call("DELETE", "/api/queues/%2F/console-durable");
    }
  });

  test("add a user and a policy", async () => {
    try {
      await open("#/admin/users");
      const add = page.getByRole("form", { name: "Add user" });
      await add.getByLabel("Username").fill("console-user");
      await add.getByLabel("Password").fill("s3cret");
      await add.getByLabel("Tags (comma separated)").fill("monitoring");
      await add.getByRole("button", { name: "Add user" }).click();
      await textOf("main table", /console-user/);
      const user = await call("GET", "/api/users/console-user");
      expect(user.body.tags).toEqual(["monitoring"]);

      await open("#/admin/policies");
      const policy = page.getByRole("form", { name: "Add policy" });
      await policy.getByLabel("Name").fill("console-ttl");
      await policy.getByLabel("Pattern (regexp)").fill("^console-ttl\\.");
      await policy.getByLabel("Apply to").selectOption("queues");
      await policy.getByLabel("Definition (JSON)").fill('{"message-ttl": 60000}');
      await policy.getByRole("button", { name: "Add policy" }).click();
      await textOf("main table", /console-ttl/);
      const p = await call("GET", "/api/policies/%2F/console-ttl");
      expect(p.body.definition).toEqual({ "message-ttl": 60000 });
      expect(p.body["apply-to"]).toBe("queues");

      // A bad definition: the API's validation text.
      await policy.getByLabel("Name").fill("console-bad");
      await policy.getByLabel("Definition (JSON)").fill('{"message-ttl": "soon"}');
      await policy.getByRole("button", { name: "Add policy" }).click();
      expect(await textOf(".form-error", /not a valid message TTL/)).toContain('"soon" is not a valid message TTL');
    } finally {
      await call("DELETE", "/api/users/console-user");
      await call("DELETE", "/api/policies/%2F/console-ttl");
    }
  });

  test("close a connection with a reason", async () => {
    const conn = await amqp.connect(amqpUrl(), { clientProperties: { connection_name: "console-victim" } });
    const closed = new Promise<string>((resolve) => {
      conn.on("error", (err: Error) => resolve(err.message));
      conn.on("close", (err?: Error) => resolve(err?.message ?? "closed"));
    });
    const list = await call("GET", "/api/connections");
    const name = (list.body as { name: string; client_properties: { connection_name?: string } }[])
      .find((c) => c.client_properties.connection_name === "console-victim")!.name;
    await open(`#/connections/${encodeURIComponent(name)}`);
    await textOf("main .facts", /console-victim/);
    await shot("13-connection");
    const form = page.getByRole("form", { name: "Close connection" });
    await form.getByLabel("Reason (sent to the client)").fill("console test says bye");
    await form.getByRole("button", { name: "Force close" }).click();
    expect(await closed).toContain("console test says bye");
    await textOf(".notice", /closed/);
  });

  test("export and import definitions", async () => {
    await call("PUT", "/api/queues/%2F/console-exported", { durable: true });
    try {
      await open("#/definitions");
      await page.getByRole("form", { name: "Export definitions" }).getByRole("button", { name: "Export" }).click();
      const exported = JSON.parse(await textOf("pre.definitions", /console-exported/));
      expect(exported.queues.map((q: { name: string }) => q.name)).toContain("console-exported");
      expect(await page.getByRole("link", { name: "Download the file" }).getAttribute("download")).toBe("warren-definitions.json");

      const incoming = { queues: [{ name: "console-imported", vhost: "/", durable: true, auto_delete: false, arguments: {} }] };
      await page.getByLabel("or paste JSON").fill(JSON.stringify(incoming));
      await page.getByRole("form", { name: "Import definitions" }).getByRole("button", { name: "Import" }).click();
      await textOf(".notice", /Definitions imported/);
      expect((await call("GET", "/api/queues/%2F/console-imported")).status).toBe(200);

      // A bad file changes nothing and says why.
      const bad = { queues: [{ name: "console-exported", vhost: "/", durable: false, auto_delete: false, arguments: {} }] };
      await page.getByLabel("or paste JSON").fill(JSON.stringify(bad));
      await page.getByRole("form", { name: "Import definitions" }).getByRole("button", { name: "Import" }).click();
      expect(await textOf(".form-error", /inequivalent/)).toContain("console-exported");
    } finally {
      await call("DELETE", "/api/queues/%2F/console-exported");
      await call("DELETE", "/api/queues/%2F/console-imported");
    }
  });

  test("the message-rate chart moves while a load runs", async () => {
    await open("#/");
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    const chart = page.locator("figure", { hasText: "Message rates" }).locator("canvas");
    await chart.waitFor();
    await page.waitForTimeout(1200);
    const before = await chart.screenshot();
    const conn = await amqp.connect(amqpUrl());
    let running = true;
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue("console-load", { autoDelete: true });
      await ch.consume("console-load", () => {}, { noAck: true });
      const load = (async () => {
        while (running) {
          for (let i = 0; i < 200; i++) ch.sendToQueue("console-load", Buffer.from("x"));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const latest = await textOf("[data-series=Publish]", /Publish: [1-9][\d,.]*\/s/, 15_000);
      expect(latest).toMatch(/Publish: [1-9]/);
      await page.waitForTimeout(1100);
      const after = await chart.screenshot();
      expect(Buffer.compare(before, after)).not.toBe(0);
      await shot("14-overview-under-load");
      running = false;
      await load;
    } finally {
      running = false;
      await conn.close();
    }
  });

  test("a list page of 2,000 queues pages, sorts and filters on the server", async () => {
    const conn = await amqp.connect(amqpUrl());
    try {
      const ch = await conn.createChannel();
      for (let i = 0; i < 2000; i++) {
        await ch.assertQueue(`console-many-${String(i).padStart(4, "0")}`, { autoDelete: false, durable: false });
      }
      await open("#/queues");
      expect(await textOf(".pager", /of 2,000 queues/)).toContain("page 1 of 20");
      await page.getByRole("button", { name: "Name" }).click(); // ascending
      await page.getByRole("button", { name: "Name ▲" }).click(); // descending
      await textOf("main tbody tr:first-child", /console-many-1999/);
      await page.getByLabel("Filter queues").fill("many-0042");
      await textOf(".pager", /^1 of 2,000 queues/);
      expect(await page.locator("main tbody tr").count()).toBe(1);
      await shot("15-queues-filtered");
      await page.getByLabel("Filter queues").fill("");
      await ch.close();
    } finally {
      const ch = await conn.createChannel();
      for (let i = 0; i < 2000; i++) await ch.deleteQueue(`console-many-${String(i).padStart(4, "0")}`);
      await conn.close();
    }
  });

  test("tags decide what is shown: a monitoring user has no Admin, a management user sees only its vhosts", async () => {
    await call("PUT", "/api/users/console-mon", { password: "pw", tags: "monitoring" });
    await call("PUT", "/api/users/console-mgmt", { password: "pw", tags: "management" });
    await call("PUT", "/api/vhosts/console-vh", {});
    await call("PUT", "/api/permissions/console-vh/console-mgmt", { configure: ".*", write: ".*", read: ".*" });
    await call("PUT", "/api/queues/console-vh/console-mine", {});
    await call("PUT", "/api/queues/%2F/console-hidden", {});
    const other = await browser.newContext();
    try {
      const p = await other.newPage();
      await login(p, tb.httpUrl, "console-mon", "pw");
      await p.getByRole("heading", { name: "Overview" }).waitFor();
      const nav = p.getByRole("navigation", { name: "Console pages" });
      expect(await nav.getByRole("link", { name: "Admin" }).count()).toBe(0);
      expect(await nav.getByRole("link", { name: "Definitions" }).count()).toBe(0);
      await p.getByRole("button", { name: "Log out" }).click();
      await p.getByLabel("Username").waitFor();

      await login(p, tb.httpUrl, "console-mgmt", "pw");
      await p.getByRole("heading", { name: "Overview" }).waitFor();
      await p.getByText("Node statistics need the monitoring tag.").waitFor();
      await p.evaluate(`location.hash = "#/queues"`);
      await p.locator("main table").filter({ hasText: "console-mine" }).waitFor();
      expect(await p.locator("main table").textContent()).not.toContain("console-hidden");
      await shot("16-management-user", p);
      // Deleting the user ends its session: the live feed is closed and the login form says why.
      await call("DELETE", "/api/users/console-mgmt");
      await p.locator(".form-error").filter({ hasText: "Logged out: Login failed" }).waitFor({ timeout: 15_000 });
      await p.getByLabel("Username").waitFor();
    } finally {
      await other.close();
      await call("DELETE", "/api/users/console-mon");
      await call("DELETE", "/api/users/console-mgmt");
      await call("DELETE", "/api/vhosts/console-vh");
      await call("DELETE", "/api/queues/%2F/console-hidden");
    }
  });

  test("on a phone-sized screen the pages fit the width and tables scroll inside their box", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    try {
      const p = await phone.newPage();
      await login(p, tb.httpUrl);
      await p.getByRole("heading", { name: "Overview" }).waitFor();
      await p.locator("canvas").first().waitFor();
      for (const hash of ["#/", "#/queues", "#/connections", "#/admin"]) {
        await p.evaluate(`location.hash = ${JSON.stringify(hash)}`);
        await p.locator("main h1").first().waitFor();
        await p.waitForTimeout(300);
        const overflow = await p.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
        expect(overflow).toBeLessThanOrEqual(0);
      }
      await shot("17-phone-admin", p);
      await p.evaluate(`location.hash = "#/"`);
      await p.locator("canvas").first().waitFor();
      await shot("18-phone-overview", p);
    } finally {
      await phone.close();
    }
  });

  test("a lost broker shows a banner, and the console reconnects when it is back", async () => {
    await open("#/");
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.locator("[data-total=Exchanges]").waitFor();
    await tb.stop();
    const banner = page.locator("#banner");
    await banner.filter({ hasText: /Lost the connection to the broker/ }).waitFor({ timeout: 15_000 });
    await shot("19-broker-lost");
    // Back on the same port (in-process only: the executable helper picks its own ports).
    if (tb.kind !== "in-process") return;
    const { startTestBroker } = await import("../helpers/broker.ts");
    const again = await startTestBroker({ httpPort: tb.httpPort });
    try {
      await banner.waitFor({ state: "hidden", timeout: 15_000 });
      await textOf(".notice", /The broker is back/);
    } finally {
      await again.stop();
    }
  });
});
