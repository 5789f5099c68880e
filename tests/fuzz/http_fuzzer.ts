// The HTTP fuzzer: hostile requests (http_cases.ts) against the management API, each answered
// within 5 s with a status below 500 (503 only from health checks) and, for errors with a body,
// RabbitMQ's JSON {error, reason}; malformed raw requests answered or closed; and after every
// hostile request a well-behaved GET /api/overview must succeed.
import { connect } from "node:net";
import { hostileRequest, malformedRaw } from "./http_cases.ts";
import { Rng } from "./rng.ts";

export interface HttpFuzzOptions {
  httpPort: number;
  auth: string;
  seed: number;
  cases: number;
  concurrency?: number;
}

export interface HttpFuzzResult {
  cases: number;
  statuses: Map<number, number>;
  failures: string[];
}

const TIMEOUT = 5000;

function raw(port: number, text: string): Promise<"answered" | "closed" | "silent"> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let got = false;
    const timer = setTimeout(() => {
      s.destroy();
      resolve("silent");
    }, TIMEOUT);
    s.on("connect", () => s.write(text));
    s.on("data", () => {
      got = true;
      clearTimeout(timer);
      s.destroy();
      resolve("answered");
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(got ? "answered" : "closed");
    });
  });
}

/** Objects for the hostile requests to find: a vhost guest may use, queues, exchanges, a binding. */
async function prepare(base: string, auth: string): Promise<void> {
  const put = (path: string, body: unknown) =>
    fetch(base + path, { method: "PUT", headers: { authorization: auth, "content-type": "application/json" }, body: JSON.stringify(body) })
      .then((r) => r.arrayBuffer());
  await put("/api/vhosts/fuzz-v", {});
  await put("/api/permissions/fuzz-v/guest", { configure: ".*", write: ".*", read: ".*" });
  for (const vhost of ["%2F", "fuzz-v"]) {
    for (const name of ["fuzz-a", "fuzz%20b", "fuzz.%23"]) {
      await put(`/api/queues/${vhost}/${name}`, { durable: false });
      await put(`/api/exchanges/${vhost}/${name}`, { type: "topic" });
    }
  }
}

export async function runHttpFuzz(o: HttpFuzzOptions): Promise<HttpFuzzResult> {
  const base = `http://127.0.0.1:${o.httpPort}`;
  await prepare(base, o.auth);
  const rng = new Rng(o.seed);
  const cases = Array.from(
    { length: o.cases },
    () => (rng.chance(0.05) ? { raw: malformedRaw(rng) } : { request: hostileRequest(rng, o.auth) }),
  );
  const result: HttpFuzzResult = { cases: 0, statuses: new Map(), failures: [] };
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const n = next++;
      const c = cases[n]!;
      const where = `seed ${o.seed} case ${n}`;
      try {
        if ("raw" in c) {
          if ((await raw(o.httpPort, c.raw!)) === "silent") result.failures.push(`${where}: a malformed request got no answer within 5 s`);
        } else {
          const q = c.request!;
          const response = await fetch(base + q.path, {
            method: q.method,
            headers: q.headers,
            signal: AbortSignal.timeout(TIMEOUT),
            ...(q.body !== undefined && q.method !== "GET" && q.method !== "HEAD" ? { body: q.body } : {}),
          });
          const text = await response.text();
          const health = q.path.startsWith("/api/health/") || q.path.startsWith("/api/aliveness-test/");
          result.statuses.set(response.status, (result.statuses.get(response.status) ?? 0) + 1);
          if (response.status >= 500 && !(response.status === 503 && health)) {
            result.failures.push(`${where}: ${q.method} ${q.path.slice(0, 200)} answered ${response.status} ${text.slice(0, 300)}`);
          }
          if (response.status >= 400 && text !== "" && q.path.startsWith("/api/") && q.method !== "HEAD") {
            let ok = false;
            try {
              const parsed = JSON.parse(text) as Record<string, unknown>;
              // RabbitMQ's {error, reason}; a failed health check is {status: "failed", reason, …}.
              ok = (typeof parsed.error === "string" || (health && parsed.status === "failed")) && parsed.reason !== undefined;
            } catch {
              ok = false;
            }
            if (!ok) {
              result.failures.push(
                `${where}: ${q.method} ${q.path.slice(0, 200)} ${response.status} body is not {error, reason}: ${text.slice(0, 200)}`,
              );
            }
          }
        }
      } catch (err) {
        result.failures.push(`${where}: ${(err as Error).message}`);
      }
      result.cases++;
      try {
        const check = await fetch(`${base}/api/overview`, { headers: { authorization: o.auth }, signal: AbortSignal.timeout(TIMEOUT) });
        await check.arrayBuffer();
        if (check.status !== 200) result.failures.push(`${where}: GET /api/overview after it answered ${check.status}`);
      } catch (err) {
        result.failures.push(`${where}: GET /api/overview after it failed: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 8 }, worker));
  return result;
}
