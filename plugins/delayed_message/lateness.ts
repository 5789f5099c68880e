// How late releases are (release time − due time), as a Prometheus histogram: the figure the
// plugin promises to keep small, observable in production rather than only in a benchmark.

/** Bucket upper bounds in ms. */
export const LATENESS_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 60_000] as const;

export class LatenessHistogram {
  /** Counts per bucket (not cumulative), the last one for anything later than every bound. */
  readonly counts = new Float64Array(LATENESS_BUCKETS_MS.length + 1);
  sumMs = 0;
  total = 0;

  record(ms: number): void {
    const late = ms < 0 ? 0 : ms;
    let i = 0;
    while (i < LATENESS_BUCKETS_MS.length && late > LATENESS_BUCKETS_MS[i]!) i++;
    this.counts[i]!++;
    this.sumMs += late;
    this.total++;
  }

  /** The exposition lines of `name` (seconds, as Prometheus wants). */
  exposition(name: string): string {
    let out = `# HELP ${name} How late delayed messages are released after their due time\n# TYPE ${name} histogram\n`;
    let cumulative = 0;
    for (let i = 0; i < LATENESS_BUCKETS_MS.length; i++) {
      cumulative += this.counts[i]!;
      out += `${name}_bucket{le="${LATENESS_BUCKETS_MS[i]! / 1000}"} ${cumulative}\n`;
    }
    out += `${name}_bucket{le="+Inf"} ${this.total}\n${name}_sum ${this.sumMs / 1000}\n${name}_count ${this.total}\n`;
    return out;
  }
}
