// The web console's numbers for docs/performance.md: bundle size (raw and gzipped) and time to
// first render in headless Chromium, on an empty broker and with 10,000 queues, against
// dist/warren when it is built (else in-process). Needs Debian's chromium; skips without it.
//   bun scripts/bench_console.ts [--runs 10] [--queues 10000]
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import amqp from "amqplib";
import { CONSOLE_ASSETS } from "../src/http/console_assets.gen.ts";
import { HAVE_CHROMIUM, launchChromium } from "../tests/helpers/browser.ts";
import { startBrokerUnderTest } from "../tests/helpers/broker_under_test.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opts } = parseArgs({ options: { runs: { type: "string", default: "10" }, queues: { type: "string", default: "10000" } } });
const runs = Number(opts.runs), queueCount = Number(opts.queues);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const progress = (msg: string) => console.error(`bench_console: ${msg}`);

console.log("## Web console");
console.log("| asset | raw | gzipped |\n|---|---|---|");
for (const a of CONSOLE_ASSETS) {
  console.log(`| ${a.path} | ${(Buffer.byteLength(a.body) / 1024).toFixed(1)} KiB | ${(gzipSync(a.body).length / 1024).toFixed(1)} KiB |`);
}
if (!HAVE_CHROMIUM) {
  progress("/usr/bin/chromium is missing: skipping the time to first render");
  process.exit(0);
}

const bin = join(root, "dist", "warren");
if (!process.env.WARREN_BIN && existsSync(bin)) process.env.WARREN_BIN = bin;
const tb = await startBrokerUnderTest();
const browser = await launchChromium();

// Marks when `selector` first appears, in ms since navigation start (no polling from here).
const observer = (selector: string) => `
  sessionStorage.setItem("warren.console.auth", btoa("guest:guest"));
  new MutationObserver((_, obs) => {
    if (document.querySelector(${JSON.stringify(selector)})) { window.__rendered = performance.now(); obs.disconnect(); }
  }).observe(document, { childList: true, subtree: true });`;

async function firstRender(hash: string, selector: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext();
    await context.addInitScript(observer(selector));
    const page = await context.newPage();
    await page.goto(`${tb.httpUrl}/${hash}`);
    await page.waitForSelector(selector, { timeout: 30_000 });
    times.push(await page.evaluate<number>("window.__rendered"));
    await context.close();
  }
  return times;
}

async function apiMs(path: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await (await fetch(tb.httpUrl + path, { headers: { authorization: `Basic ${btoa("guest:guest")}` } })).text();
    times.push(performance.now() - started);
  }
  return median(times);
}

try {
  console.log(`\n| time to first render (${tb.kind}, median of ${runs}, fresh browser context each) | ms |\n|---|---|`);
  console.log(`| overview with its totals, empty broker | ${median(await firstRender("", "[data-total=Queues]")).toFixed(0)} |`);
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${tb.port}`);
  const ch = await conn.createChannel();
  progress(`declaring ${queueCount} queues`);
  await Promise.all(Array.from({ length: queueCount }, (_, i) => ch.assertQueue(`bench-console-${i}`, { durable: false })));
  console.log(`| overview with its totals, ${queueCount} queues | ${median(await firstRender("", "[data-total=Queues]")).toFixed(0)} |`);
  console.log(`| queues page (first 100 of ${queueCount}) | ${median(await firstRender("#/queues", "main tbody tr")).toFixed(0)} |`);
  console.log(`\n| API behind the queues page, ${queueCount} queues | ms |\n|---|---|`);
  console.log(`| GET /api/queues?page=1&page_size=100 | ${(await apiMs("/api/queues?page=1&page_size=100")).toFixed(1)} |`);
  console.log(
    `| GET /api/queues?page=1&page_size=100&name=bench-console-4242 | ${
      (await apiMs("/api/queues?page=1&page_size=100&name=bench-console-4242&use_regex=false")).toFixed(1)
    } |`,
  );
  console.log(
    `| GET /api/queues?page=1&page_size=100&sort=name&sort_reverse=true | ${
      (await apiMs("/api/queues?page=1&page_size=100&sort=name&sort_reverse=true")).toFixed(1)
    } |`,
  );
  await conn.close();
} finally {
  await browser.close();
  await tb.stop();
}
