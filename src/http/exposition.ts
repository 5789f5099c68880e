// The Prometheus text exposition format: families with HELP/TYPE lines and labelled samples.

export type Labels = Record<string, string>;
export type MetricType = "gauge" | "counter" | "untyped";

interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: { labels: Labels; value: number }[];
}

export class Exposition {
  private readonly families: Family[] = [];

  add(name: string, type: MetricType, help: string, value: number, labels: Labels = {}): void {
    this.family(name, type, help).samples.push({ labels, value });
  }

  /** A family with one sample per object (per-object mode) or their sum (aggregated). */
  perObject<T>(
    name: string,
    type: MetricType,
    help: string,
    items: T[],
    value: (item: T) => number,
    labels: (item: T) => Labels,
    perObject: boolean,
  ): void {
    const family = this.family(name, type, help);
    if (!perObject) {
      family.samples.push({ labels: {}, value: items.reduce((n, item) => n + value(item), 0) });
      return;
    }
    for (const item of items) family.samples.push({ labels: labels(item), value: value(item) });
  }

  private family(name: string, type: MetricType, help: string): Family {
    let family = this.families.find((f) => f.name === name);
    if (!family) this.families.push(family = { name, type, help, samples: [] });
    return family;
  }

  render(): string {
    let out = "";
    for (const f of this.families) {
      out += header(f);
      for (const s of f.samples) out += sampleLine(f, s);
    }
    return out;
  }

  /** The same text, `perTurn` samples per turn of the event loop (`wait` ends a turn). */
  async renderInSlices(perTurn: number, wait: () => Promise<void>): Promise<string> {
    let out = "";
    let written = 0;
    for (const f of this.families) {
      out += header(f);
      for (const s of f.samples) {
        out += sampleLine(f, s);
        if (++written % perTurn === 0) await wait();
      }
    }
    return out;
  }
}

const header = (f: Family) => `# TYPE ${f.name} ${f.type}\n# HELP ${f.name} ${f.help}\n`;
const sampleLine = (f: Family, s: Family["samples"][number]) => `${f.name}${formatLabels(s.labels)} ${formatValue(s.value)}\n`;

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${labels[k]!.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`).join(",")}}`;
}

function formatValue(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
}
