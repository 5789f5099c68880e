// JSON values printed as RabbitMQ's validation errors print them (io_lib ~p of the decoded
// term: <<"text">> for strings, [{<<"key">>,Value}] for objects, true/false/null atoms), then
// HTML-escaped as the management API sends those texts ("&lt;&lt;\"x\"&gt;&gt;").
import type { Json } from "../../src/broker/json_table.ts";

export function erlangTerm(value: Json | undefined): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : erlangFloat(value);
  if (typeof value === "string") return binary(value);
  if (Array.isArray(value)) return `[${value.map(erlangTerm).join(",")}]`;
  return `#{${Object.keys(value).sort().map((k) => `${binary(k)} => ${erlangTerm(value[k] as Json)}`).join(",")}}`;
}

/** A proplist of (key, value) pairs: [{<<"k">>,1}]. */
export function erlangProplist(pairs: [string, Json][]): string {
  return `[${pairs.map(([k, v]) => `{${binary(k)},${erlangTerm(v)}}`).join(",")}]`;
}

/** What the management API does to an error text before sending it. */
export function htmlEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function binary(s: string): string {
  const bytes = new TextEncoder().encode(s);
  if (bytes.every((b) => b >= 32 && b <= 126)) return `<<"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}">>`;
  return `<<${[...bytes].join(",")}>>`;
}

/** Erlang prints floats with at least one digit after the point (1.0e10, 0.5). */
function erlangFloat(v: number): string {
  const text = String(v);
  if (text.includes("e")) {
    const [m, e] = text.split("e");
    return `${m!.includes(".") ? m : `${m}.0`}e${e!.replace("+", "")}`;
  }
  return text;
}
