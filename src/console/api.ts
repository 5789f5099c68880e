// The management API from the browser: Basic credentials kept in sessionStorage for this tab
// (never in a URL), JSON in and out, and failures as ApiError carrying the API's reason.
const KEY = "warren.console.auth";

export class ApiError extends Error {
  constructor(readonly status: number, readonly error: string, readonly reason: string) {
    super(reason || error || `HTTP ${status}`);
  }
}

/** The broker could not be reached at all (network failure). */
export class Unreachable extends Error {}

let auth: string | null = sessionStorage.getItem(KEY);

export function loggedIn(): boolean {
  return auth !== null;
}

export function authHeader(): Record<string, string> {
  // X-Requested-With: the API then answers 401 without WWW-Authenticate (no browser dialog).
  const base = { "x-requested-with": "XMLHttpRequest" };
  return auth === null ? base : { ...base, authorization: `Basic ${auth}` };
}

/** Base64 of UTF-8 "user:password", as Basic authentication sends it. */
function basic(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

export function setCredentials(user: string, password: string): void {
  auth = basic(user, password);
  sessionStorage.setItem(KEY, auth);
}

export function clearCredentials(): void {
  auth = null;
  sessionStorage.removeItem(KEY);
}

/**
 * The API's URL for `path` ("overview", "queues/%2F/q"), relative to the page, so the console
 * works under management.path_prefix too.
 */
export function apiUrl(path: string): string {
  const base = location.pathname.endsWith("/") ? location.pathname : location.pathname.replace(/[^/]*$/, "");
  return `${base}api/${path}`;
}

export interface Options {
  body?: unknown;
  headers?: Record<string, string>;
  /** Return the raw text instead of parsing JSON. */
  text?: boolean;
}

/** Listeners told when a request is refused with 401 (the session ends). */
export const unauthorised: ((reason: string) => void)[] = [];

export async function api<T = unknown>(method: string, path: string, options: Options = {}): Promise<T> {
  const headers: Record<string, string> = { ...authHeader(), ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(apiUrl(path), { method, headers, ...(body !== undefined ? { body } : {}) });
  } catch (err) {
    throw new Unreachable(`The broker did not answer ${method} /api/${path}: ${(err as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    let error = response.statusText, reason = text;
    try {
      const parsed = JSON.parse(text) as { error?: unknown; reason?: unknown };
      error = String(parsed.error ?? error);
      reason = typeof parsed.reason === "string" ? parsed.reason : JSON.stringify(parsed.reason ?? "");
    } catch {
      // not JSON: the text is the reason
    }
    const failure = new ApiError(response.status, error, reason || `${response.status} ${response.statusText}`);
    if (response.status === 401 && /Login failed|Not management user/.test(failure.reason)) {
      for (const listener of unauthorised) listener(failure.reason);
    }
    throw failure;
  }
  if (options.text) return text as T;
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

export const get = <T = unknown>(path: string) => api<T>("GET", path);

/** RabbitMQ's paged listing answer (`?page=…`). */
export interface Page<T> {
  items: T[];
  page: number;
  page_count: number;
  page_size: number;
  filtered_count: number;
  item_count: number;
  total_count: number;
}

/** Whether the endpoint answers (a plugin page shows only then). */
export async function answers(path: string): Promise<boolean> {
  try {
    await api("GET", path);
    return true;
  } catch {
    return false;
  }
}
