// The console's entry: login, the navigation, and the hash router (#/queues/%2F/name) that
// renders one page at a time and disposes of the one before.
import { answers, ApiError, clearCredentials, get, loggedIn, setCredentials, unauthorised } from "./api.ts";
import { h, replace, uid } from "./dom.ts";
import { onReconnect, startLive, stopLive } from "./live.ts";
import { PAGES } from "./pages/mod.ts";
import type { Cleanup, Page, Session } from "./pages/page.ts";
import { clearNotice, notify } from "./ui.ts";

const app = document.getElementById("app")!;
let session: Session | undefined;
let pages: Page[] = [];
let cleanup: Cleanup | undefined;
let rendering = 0;

function makeSession(user: { name: string; tags: string[] | string }): Session {
  const tags = Array.isArray(user.tags) ? user.tags : user.tags.split(",").filter(Boolean);
  return { user: { name: user.name, tags }, is: (tag) => tags.includes(tag) || tags.includes("administrator") };
}

function loginView(message?: string): void {
  stopLive();
  session = undefined;
  const userId = uid("user"), passId = uid("pass");
  const error = h("p", { class: "form-error", role: "alert", hidden: message === undefined }, message ?? "");
  const user = h("input", { id: userId, name: "username", autocomplete: "username", required: true });
  const pass = h("input", { id: passId, name: "password", type: "password", autocomplete: "current-password" });
  const button = h("button", { type: "submit" }, "Log in");
  const loginForm = h(
    "form",
    {
      class: "login",
      "aria-label": "Log in",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        button.disabled = true;
        setCredentials(user.value, pass.value);
        try {
          await start();
        } catch (err) {
          clearCredentials();
          error.textContent = err instanceof ApiError ? `Login failed: ${err.reason}` : (err as Error).message;
          error.hidden = false;
          button.disabled = false;
        }
      },
    },
    h("h1", null, "Warren"),
    h("p", null, "Log in with a management user."),
    h("div", { class: "field" }, h("label", { for: userId }, "Username"), user),
    h("div", { class: "field" }, h("label", { for: passId }, "Password"), pass),
    error,
    button,
  );
  replace(app, h("main", { class: "login-wrap" }, loginForm));
  user.focus();
}

async function start(): Promise<void> {
  const who = await get<{ name: string; tags: string[] | string }>("whoami");
  session = makeSession(who);
  // Plugin pages show when their API answers.
  const probed = await Promise.all(PAGES.map(async (p) => (p.probe === undefined || (await answers(p.probe)) ? p : undefined)));
  pages = probed.filter((p): p is Page => p !== undefined && p.visible(session!));
  shell();
  startLive();
  await route();
}

function shell(): void {
  const s = session!;
  const nav = h(
    "nav",
    { class: "nav", "aria-label": "Console pages" },
    h("ul", null, ...pages.map((p) => h("li", null, h("a", { href: `#/${p.id}`, "data-page": p.id }, p.title)))),
  );
  replace(
    app,
    h("a", { class: "skip", href: "#view" }, "Skip to content"),
    h(
      "header",
      { class: "top" },
      h("span", { class: "brand" }, "Warren"),
      nav,
      h(
        "span",
        { class: "who" },
        `${s.user.name} (${s.user.tags.join(", ") || "no tags"}) `,
        h("button", { type: "button", class: "link", onclick: logout }, "Log out"),
      ),
    ),
    h("div", { id: "notice", class: "notice", hidden: true }),
    h("main", { id: "view", tabindex: -1 }),
  );
}

function logout(): void {
  cleanup?.();
  cleanup = undefined;
  clearCredentials();
  location.hash = "";
  loginView();
}

async function route(): Promise<void> {
  if (!session) return;
  const view = document.getElementById("view");
  if (!view) return;
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter((p, i) => i === 0 || p !== "").map(decodeURIComponent);
  const id = parts[0] ?? "";
  const page = pages.find((p) => p.id === id);
  cleanup?.();
  cleanup = undefined;
  for (const a of document.querySelectorAll<HTMLAnchorElement>(".nav a")) {
    if (a.dataset.page === (page?.id ?? "\0")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const mine = ++rendering;
  if (!page) {
    replace(view, h("h1", { tabindex: -1 }, "Not found"), h("p", null, `No page ${location.hash}.`));
    return;
  }
  document.title = `${page.title} · Warren`;
  replace(view, h("p", { class: "loading" }, "Loading…"));
  try {
    const done = await page.render(view, parts.slice(1), session);
    if (mine !== rendering) done?.();
    else cleanup = done ?? undefined;
  } catch (err) {
    if (mine !== rendering) return;
    replace(view, h("h1", { tabindex: -1 }, page.title), h("p", { class: "form-error", role: "alert" }, (err as Error).message));
  }
  if (mine === rendering) (view.querySelector("h1") as HTMLElement | null)?.focus({ preventScroll: true });
}

globalThis.addEventListener("hashchange", () => {
  clearNotice();
  void route();
});
onReconnect(() => {
  notify("The broker is back.", "ok");
  void route();
});
unauthorised.push((reason) => {
  clearCredentials();
  loginView(`Logged out: ${reason}`);
});

if (loggedIn()) {
  start().catch((err) => {
    clearCredentials();
    loginView(err instanceof ApiError ? `Login failed: ${err.reason}` : (err as Error).message);
  });
} else {
  loginView();
}
