// How numbers, bytes, rates and times are shown.
export function num(n: unknown): string {
  return typeof n === "number" ? n.toLocaleString("en") : n === undefined || n === null ? "" : String(n);
}

export function rate(n: unknown): string {
  return typeof n === "number" ? `${(Math.round(n * 10) / 10).toLocaleString("en")}/s` : "";
}

export function bytes(n: unknown): string {
  if (typeof n !== "number") return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n, i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m ${Math.floor(seconds % 60)}s`;
}

/** Arguments, properties, definitions: key=value pairs, short. */
export function args(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value !== "object") return String(value);
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(", ");
}

export const yesNo = (b: unknown) => (b ? "yes" : "no");
