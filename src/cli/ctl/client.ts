// A small client for Warren's management HTTP API (RabbitMQ's paths and JSON): basic auth,
// one path segment per argument (each percent-encoded, so the vhost "/" is %2F), and the
// API's {error, reason} answers turned into CtlErrors with sysexits codes.
import { readFileSync } from "node:fs";
import { CtlError, ExitCode } from "./errors.ts";

export interface Connection {
  host: string;
  port: number;
  username: string;
  password: string;
  /** Milliseconds before a request is abandoned (exit 75); 0 waits forever. */
  timeoutMs: number;
  /** HTTPS, optionally verifying the server against the CAs in caFile (PEM). */
  tls: boolean;
  caFile: string | undefined;
}

/** Nothing answered at host:port (connection refused, reset, no route). */
export class UnreachableError extends CtlError {}

/** An API answer other than 2xx; `reason` is the API's text. */
export class ApiError extends CtlError {
  constructor(readonly status: number, readonly reason: string) {
    super(codeFor(status), reason);
  }
}

function codeFor(status: number) {
  if (status === 401 || status === 403) return ExitCode.NO_PERM;
  if (status === 400 || status === 404 || status === 409) return ExitCode.DATA;
  if (status === 503) return ExitCode.UNAVAILABLE;
  return ExitCode.SOFTWARE;
}

/** `/api/queues/%2F/my%20queue` from ["queues", "/", "my queue"]. */
export function apiPath(...segments: string[]): string {
  return "/api/" + segments.map(encodeSegment).join("/");
}

function encodeSegment(segment: string): string {
  // URL parsing treats "." and ".." (even as %2E) as relative segments, so the request would
  // reach another path: refuse them rather than act on something else.
  if (segment === "." || segment === "..") throw new CtlError(ExitCode.DATA, `"${segment}" cannot be named in a management API path`);
  return encodeURIComponent(segment);
}

export type Query = Record<string, string | undefined>;

export class ApiClient {
  readonly base: string;
  private readonly auth: string;
  private readonly ca: string | undefined;

  constructor(readonly connection: Connection) {
    const host = connection.host.includes(":") && !connection.host.startsWith("[") ? `[${connection.host}]` : connection.host;
    this.base = `${connection.tls ? "https" : "http"}://${host}:${connection.port}`;
    if (connection.caFile !== undefined) {
      try {
        this.ca = readFileSync(connection.caFile, "utf8");
      } catch (err) {
        throw new CtlError(ExitCode.DATA, `Cannot read the CA file ${connection.caFile}: ${(err as Error).message}`);
      }
    }
    this.auth = "Basic " + Buffer.from(`${connection.username}:${connection.password}`).toString("base64");
  }

  get<T = unknown>(path: string, query: Query = {}): Promise<T> {
    return this.request("GET", path, query) as Promise<T>;
  }

  put(path: string, body: unknown): Promise<unknown> {
    return this.request("PUT", path, {}, body);
  }

  post(path: string, body: unknown): Promise<unknown> {
    return this.request("POST", path, {}, body);
  }

  delete(path: string, query: Query = {}, headers: Record<string, string> = {}): Promise<unknown> {
    return this.request("DELETE", path, query, undefined, headers);
  }

  /** GET that answers undefined for a 404 instead of failing. */
  async find<T = unknown>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Before the first request: the server must be Warren's management API. Another product on
   * the port (a RabbitMQ that holds 15672, any other web server) is named and not managed.
   */
  private identity: Promise<unknown> | undefined;

  /** The broker's node name, from the overview identify() reads; undefined if it names none. */
  async node(): Promise<string | undefined> {
    const { node } = (await this.identify()) as { node?: unknown };
    return typeof node === "string" ? node : undefined;
  }

  /** The overview's product fields; throws unless the server says it is Warren. */
  identify(): Promise<unknown> {
    this.identity ??= this.send("GET", "/api/overview", { columns: "product_name,product_version,node" }).then(
      (overview) => {
        const o = (overview ?? {}) as { product_name?: unknown; product_version?: unknown };
        if (o.product_name === "Warren") return overview;
        const what = typeof o.product_name === "string"
          ? `${o.product_name}${typeof o.product_version === "string" ? ` ${o.product_version}` : ""}, not Warren`
          : "not a Warren management API";
        throw new CtlError(
          ExitCode.UNAVAILABLE,
          `the management API at ${this.where} is ${what}: another program holds that port? (set --host and --port)`,
        );
      },
      (err) => {
        if (err instanceof ApiError && err.status !== 401 && err.status !== 403 && err.status !== 503) {
          throw new CtlError(
            ExitCode.UNAVAILABLE,
            `the server at ${this.where} is not a Warren management API (GET /api/overview: ${err.reason}; set --host and --port)`,
          );
        }
        throw err;
      },
    );
    return this.identity;
  }

  async request(method: string, path: string, query: Query, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    await this.identify();
    return this.send(method, path, query, body, headers);
  }

  private get where(): string {
    return `${this.connection.host}:${this.connection.port}`;
  }

  private async send(method: string, path: string, query: Query, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, value);
    const url = this.base + path + (search.size > 0 ? `?${search}` : "");
    const init: RequestInit = { method, headers: { authorization: this.auth, ...headers } };
    if (body !== undefined) {
      (init.headers as Record<string, string>)["content-type"] = "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    if (this.ca !== undefined) (init as RequestInit & { tls: { ca: string } }).tls = { ca: this.ca };
    if (this.connection.timeoutMs > 0) init.signal = AbortSignal.timeout(this.connection.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, init);
      text = await response.text();
    } catch (err) {
      throw this.transportError(err as Error);
    }
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (response.ok) return parsed;
    throw new ApiError(response.status, reasonOf(response.status, parsed));
  }

  private transportError(err: Error): CtlError {
    const where = `${this.connection.host}:${this.connection.port}`;
    if (err.name === "TimeoutError" || err.name === "AbortError") {
      return new CtlError(ExitCode.TEMPFAIL, `operation on node ${where} timed out. Timeout value used: ${this.connection.timeoutMs} ms`);
    }
    const detail = (err as { code?: string }).code ?? err.message;
    return new UnreachableError(
      ExitCode.UNAVAILABLE,
      `unable to perform an operation on node ${where} (${detail}). ` +
        `Is the broker running at ${where} with its management API enabled? (set --host and --port)`,
    );
  }
}

/** The API's reason text (a string, or RabbitMQ's [error, detail] list). */
function reasonOf(status: number, body: unknown): string {
  if (body !== null && typeof body === "object" && "reason" in body) {
    const reason = (body as { reason: unknown }).reason;
    if (Array.isArray(reason)) return reason.map(String).join(": ");
    if (typeof reason === "string" && reason !== "") return reason.trimEnd();
  }
  if (typeof body === "string" && body !== "") return body.trimEnd();
  return `HTTP ${status}`;
}
