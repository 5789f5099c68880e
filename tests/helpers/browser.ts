// Headless Chromium for the console's end-to-end tests: Debian's `chromium` package driven by
// playwright-core (no browser download). Tests skip with a message when it is not installed.
import { existsSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}

/** Where this run's screenshots go (kept after the run as artefacts; never committed). */
export function screenshotDir(): string {
  const dir = process.env.WARREN_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), "warren-console-shots-"));
  return dir;
}

/** Collects the page's script errors so a test can fail on them. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  return errors;
}

export async function login(page: Page, baseUrl: string, user = "guest", password = "guest"): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}
