// A few lines instead of a framework: h() builds elements, and pages re-render their own parts.
export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

/** h("button", { onclick, class: "x", "aria-label": "…" }, "text", child…) */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value as EventListener);
    else if (key === "value") (el as HTMLInputElement).value = String(value);
    else if (key === "checked") (el as HTMLInputElement).checked = Boolean(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let ids = 0;
/** A unique id for label/for pairs. */
export const uid = (prefix: string) => `${prefix}-${++ids}`;

/** `#/queues/%2F/q`: each part percent-encoded (vhost "/" as %2F, as the API paths). */
export function href(...parts: string[]): string {
  return "#/" + parts.map(encodeURIComponent).join("/");
}

/** An API path with each part encoded: path("queues", vhost, name) → "queues/%2F/q". */
export function path(...parts: string[]): string {
  return parts.map(encodeURIComponent).join("/");
}
