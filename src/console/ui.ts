// Shared pieces of the pages: notices, forms that show the API's reason when they fail, property
// lists, and the list view (server-side paging, sorting and name filter, redrawn by the live feed).
import { api, type Page } from "./api.ts";
import { type Child, h, replace, uid } from "./dom.ts";
import { type LiveEvent, onLive } from "./live.ts";

/** The notice area under the header: what an action did, or why it failed. */
let noticeAt = 0;

export function notify(text: string, kind: "ok" | "error" = "ok"): void {
  noticeAt = Date.now();
  const el = document.getElementById("notice");
  if (!el) return;
  el.className = `notice ${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.textContent = text;
  el.hidden = false;
}

/** On navigation: a notice set just before it (an action that navigates) stays. */
export function clearNotice(): void {
  if (Date.now() - noticeAt < 1000) return;
  const el = document.getElementById("notice");
  if (el) el.hidden = true;
}

/** Runs an action, reporting its outcome; returns whether it succeeded. */
export async function act(what: () => Promise<unknown>, done: string): Promise<boolean> {
  try {
    await what();
    notify(done, "ok");
    return true;
  } catch (err) {
    notify(`${(err as Error).message}`, "error");
    return false;
  }
}

export interface Field {
  name: string;
  label: string;
  kind?: "text" | "password" | "number" | "checkbox" | "select" | "textarea";
  options?: readonly string[];
  value?: string | boolean;
  required?: boolean;
  placeholder?: string;
  help?: string;
}

export type Values = Record<string, string | boolean>;

/** A labelled form; `submit` gets the values, its error (the API's reason) is shown in the form. */
export function form(title: string, fields: Field[], button: string, submit: (v: Values) => Promise<string | void>): HTMLElement {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const inputs = new Map<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>();
  const rows = fields.map((f) => {
    const id = uid(f.name);
    let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
    if (f.kind === "select") {
      input = h("select", { id, name: f.name }, ...(f.options ?? []).map((o) => h("option", { value: o, selected: o === f.value }, o)));
    } else if (f.kind === "textarea") {
      input = h("textarea", { id, name: f.name, rows: 4, placeholder: f.placeholder, required: f.required }, String(f.value ?? ""));
    } else {
      input = h("input", {
        id,
        name: f.name,
        type: f.kind ?? "text",
        placeholder: f.placeholder,
        required: f.required,
        ...(f.kind === "checkbox" ? { checked: f.value === true } : { value: f.value ?? "" }),
        autocomplete: f.kind === "password" ? "new-password" : "off",
      });
    }
    inputs.set(f.name, input);
    const label = h("label", { for: id }, f.label);
    return h("div", { class: f.kind === "checkbox" ? "field check" : "field" }, label, input, f.help ? h("small", null, f.help) : null);
  });
  const el: HTMLFormElement = h(
    "form",
    {
      class: "form",
      "aria-label": title,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const values: Values = {};
        for (const [name, input] of inputs) {
          values[name] = input instanceof HTMLInputElement && input.type === "checkbox" ? input.checked : input.value;
        }
        const submitButton = el.querySelector("button[type=submit]") as HTMLButtonElement;
        submitButton.disabled = true;
        error.hidden = true;
        try {
          const message = await submit(values);
          notify(message || `${title}: done`, "ok");
        } catch (err) {
          error.textContent = (err as Error).message;
          error.hidden = false;
          notify(`${title}: ${(err as Error).message}`, "error");
        } finally {
          submitButton.disabled = false;
        }
      },
    },
    h("h3", null, title),
    ...rows,
    error,
    h("button", { type: "submit" }, button),
  );
  return el;
}

/** JSON typed by a person: an object, or a reason naming what is wrong. */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** A definition list of facts. */
export function facts(pairs: [string, Child][]): HTMLElement {
  return h("dl", { class: "facts" }, ...pairs.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
}

/** A titled card; a form inside with the same title drops its own heading (said once). */
export function section(title: string, ...children: Child[]): HTMLElement {
  const el = h("section", { class: "card" }, h("h2", null, title), ...children);
  for (const f of el.querySelectorAll(":scope > form")) {
    if (f.getAttribute("aria-label") === title) f.querySelector(":scope > h3")?.remove();
  }
  return el;
}

export interface Column<T> {
  label: string;
  /** The API's sort key (dotted); absent: not sortable. */
  sort?: string;
  cell(row: T): Child;
}

export interface ListOptions<T> {
  /** The API path listed, e.g. "queues" or "queues/%2F". */
  path: string;
  columns: Column<T>[];
  label: string;
  /** Server-side paging and the name filter (queues, exchanges, connections, channels). */
  paged?: boolean;
  empty?: string;
  /** Whether a live event should re-read the page shown. */
  refreshOn?(event: LiveEvent): boolean;
  /** Extra query parameters. */
  query?: Record<string, string>;
}

export interface ListView {
  el: HTMLElement;
  refresh(): Promise<void>;
  dispose(): void;
}

/**
 * A table of one page of a listing. Sorting, paging and the name filter are the API's
 * (`sort`, `page`, `page_size`, `name`), so a page stays fast with 10,000 queues.
 */
export function listView<T>(options: ListOptions<T>): ListView {
  const state = { page: 1, pageSize: 100, name: "", regex: false, sort: "", reverse: false };
  const body = h("div", { class: "table-wrap" });
  const pager = h("div", { class: "pager" });
  const filterId = uid("filter");
  const filter = h("input", {
    id: filterId,
    type: "search",
    placeholder: "Filter by name",
    oninput: () => {
      state.name = filter.value;
      state.page = 1;
      schedule();
    },
  });
  const regexId = uid("regex");
  const regex = h("input", {
    id: regexId,
    type: "checkbox",
    onchange: () => {
      state.regex = regex.checked;
      state.page = 1;
      schedule();
    },
  });
  const controls = options.paged
    ? h(
      "div",
      { class: "list-controls" },
      h("label", { for: filterId }, `Filter ${options.label}`),
      filter,
      h("span", { class: "check" }, regex, h("label", { for: regexId }, "Regex")),
    )
    : null;
  const el = h("div", { class: "list" }, controls, body, pager);
  let inFlight = false, again = false, timer: ReturnType<typeof setTimeout> | undefined;
  // A slow listing (sorted by a statistic over 10,000 queues) is re-read less often, so a page
  // left open does not keep the broker busy: at most every 5 times its last duration.
  let lastStarted = 0, lastDuration = 0;

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), 150);
  };

  const header = () =>
    h(
      "tr",
      null,
      ...options.columns.map((c) => {
        if (!c.sort) return h("th", { scope: "col" }, c.label);
        const active = state.sort === c.sort;
        return h(
          "th",
          { scope: "col", "aria-sort": active ? (state.reverse ? "descending" : "ascending") : "none" },
          h(
            "button",
            {
              class: "sort",
              type: "button",
              onclick: () => {
                state.reverse = active ? !state.reverse : false;
                state.sort = c.sort!;
                void refresh();
              },
            },
            c.label,
            active ? (state.reverse ? " ▼" : " ▲") : "",
          ),
        );
      }),
    );

  async function refresh(): Promise<void> {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    lastStarted = performance.now();
    try {
      const q = new URLSearchParams(options.query ?? {});
      if (state.sort) {
        q.set("sort", state.sort);
        q.set("sort_reverse", String(state.reverse));
      }
      if (options.paged) {
        q.set("page", String(state.page));
        q.set("page_size", String(state.pageSize));
        q.set("name", state.name);
        q.set("use_regex", String(state.regex));
      }
      const query = q.toString();
      const answer = await api<Page<T> | T[]>("GET", query ? `${options.path}?${query}` : options.path);
      const rows = Array.isArray(answer) ? answer : answer.items;
      const table = h(
        "table",
        null,
        h("caption", { class: "sr-only" }, options.label),
        h("thead", null, header()),
        h(
          "tbody",
          null,
          ...rows.map((row) => h("tr", null, ...options.columns.map((c) => h("td", { "data-label": c.label }, c.cell(row))))),
        ),
      );
      replace(body, rows.length === 0 ? h("p", { class: "empty" }, options.empty ?? `No ${options.label}.`) : table);
      if (!Array.isArray(answer)) drawPager(answer);
    } catch (err) {
      replace(body, h("p", { class: "form-error", role: "alert" }, `Cannot list ${options.label}: ${(err as Error).message}`));
    } finally {
      inFlight = false;
      lastDuration = performance.now() - lastStarted;
      if (again) {
        again = false;
        void refresh();
      }
    }
  }

  function drawPager(p: Page<T>): void {
    const go = (page: number) => () => {
      state.page = page;
      void refresh();
    };
    replace(
      pager,
      h("span", null, `${p.filtered_count.toLocaleString("en")} of ${p.total_count.toLocaleString("en")} ${options.label}`),
      p.page_count > 1
        ? [
          h("button", { type: "button", disabled: p.page <= 1, onclick: go(p.page - 1), "aria-label": "Previous page" }, "‹"),
          h("span", null, ` page ${p.page} of ${p.page_count} `),
          h("button", { type: "button", disabled: p.page >= p.page_count, onclick: go(p.page + 1), "aria-label": "Next page" }, "›"),
        ]
        : null,
    );
  }

  const off = options.refreshOn
    ? onLive((event) => {
      if (inFlight || performance.now() - lastStarted < 5 * lastDuration) return;
      if (options.refreshOn!(event)) void refresh();
    })
    : () => {};
  void refresh();
  return {
    el,
    refresh,
    dispose: () => {
      off();
      clearTimeout(timer);
    },
  };
}

/** A live event moved messages, or changed objects of `kind`. */
export const busy = (...kinds: string[]) => (e: LiveEvent) =>
  e.changed.some((k) => kinds.includes(k)) || Object.values(e.rates).some((r) => r > 0);
