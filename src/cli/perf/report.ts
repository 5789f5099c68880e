// A scenario's result, rendered as the summary table (stdout) or one JSON object (--json), and
// the once-a-second progress line (stderr).
import type { LatencySummary } from "./histogram.ts";
import { ExitCode } from "./errors.ts";

export type Metric = number | string | boolean | LatencySummary | undefined;

export interface Result {
  scenario: string;
  ok: boolean;
  exit_code: number;
  error?: string | undefined;
  uri: string;
  params: Record<string, unknown>;
  /** Insertion order is the table's order; undefined entries are left out. */
  metrics: Record<string, Metric>;
}

export function finish(result: Omit<Result, "ok" | "exit_code">, code: number): Result {
  return { ...result, ok: code === ExitCode.OK, exit_code: code };
}

export function renderJson(result: Result): string {
  return JSON.stringify(result, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v)) + "\n";
}

export function renderTable(result: Result): string {
  const rows: [string, string][] = [];
  for (const [name, value] of Object.entries(result.metrics)) {
    if (value === undefined) continue;
    rows.push([name, formatMetric(name, value)]);
  }
  const width = Math.max(...rows.map((r) => r[0].length), 6);
  const lines = [`warren perf ${result.scenario} against ${result.uri}`, ""];
  const params = Object.entries(result.params).filter(([, v]) => v !== undefined && v !== "").map(([k, v]) =>
    `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`
  );
  if (params.length) lines.push(params.join(" "), "");
  for (const [name, text] of rows) lines.push(`${name.padEnd(width)}  ${text}`);
  lines.push("", result.ok ? "result  ok" : `result  FAILED (exit ${result.exit_code}): ${result.error ?? ""}`);
  return lines.join("\n") + "\n";
}

function formatMetric(name: string, value: Metric): string {
  if (typeof value === "object" && value !== null) return formatLatency(value);
  if (typeof value === "number") {
    if (name.endsWith("_rate")) return `${group(value)} /s`;
    if (name.endsWith("_us_per_msg")) return `${value.toFixed(3)} µs`;
    if (name.endsWith("_pct")) return `${value.toFixed(1)} %`;
    if (name.endsWith("_s")) return `${value.toFixed(2)} s`;
    if (name.endsWith("_ms")) return `${value.toFixed(1)} ms`;
    return group(value);
  }
  return String(value);
}

export function formatLatency(l: LatencySummary): string {
  return `p50 ${us(l.p50)}  p90 ${us(l.p90)}  p99 ${us(l.p99)}  p99.9 ${us(l.p999)}  max ${us(l.max)}  (n=${group(l.count)})`;
}

/** Microseconds, shown in the unit that keeps three digits. */
export function us(v: number | undefined): string {
  if (v === undefined) return "-";
  if (v < 1000) return `${v.toFixed(v < 10 ? 1 : 0)} µs`;
  if (v < 1_000_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} ms`;
  return `${(v / 1_000_000).toFixed(2)} s`;
}

export function group(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toLocaleString("en-US", { maximumFractionDigits: 1 });
}

/** CPU time of this process (all threads), in microseconds. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
