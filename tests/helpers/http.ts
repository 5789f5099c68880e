// Management API calls for tests: through app.request() (no socket) or over real HTTP.
import type { ManagementApp } from "../../src/http/app.ts";

export interface ApiResponse {
  status: number;
  headers: Headers;
  // Parsed JSON of any endpoint, read by hundreds of tests each as it needs: a type per answer
  // would restate the API in the tests; a wrong field fails the test's expectation anyway.
  // deno-lint-ignore no-explicit-any
  body: any;
}

export type Target = ManagementApp | string;

export function basic(user: string, pass: string): string {
  return "Basic " + Buffer.from(`${user}:${pass}`).toString("base64");
}

/** Calls `path` on an app or a base URL as guest (or `auth`), with an optional JSON body. */
export async function api(
  target: Target,
  method: string,
  path: string,
  body?: unknown,
  auth: string | null = basic("guest", "guest"),
  extraHeaders: Record<string, string> = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...extraHeaders };
  if (auth !== null) headers.authorization = auth;
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const response = typeof target === "string" ? await fetch(target + path, init) : await target.request(path, init);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
