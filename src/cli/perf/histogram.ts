// Latency histogram in microseconds: exact below 64 µs, then 32 buckets per power of two (about
// 3 % resolution) up to 2^31 µs. Recording is a few integer operations and no allocation;
// percentiles of one interval come from the difference of two snapshots.

const LINEAR = 64;
const SUB_BITS = 5;
const SUB = 1 << SUB_BITS;
const BUCKETS = LINEAR + (31 - 6) * SUB + SUB;

function bucketOf(us: number): number {
  const v = us < 0 ? 0 : us >= 0x7fff_ffff ? 0x7fff_ffff : us | 0;
  if (v < LINEAR) return v;
  const exp = 31 - Math.clz32(v); // ≥ 6
  return LINEAR + (exp - 6) * SUB + ((v >>> (exp - SUB_BITS)) & (SUB - 1));
}

/** The middle of a bucket's range, as the reported value. */
function valueOf(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  const exp = Math.floor((bucket - LINEAR) / SUB) + 6;
  const sub = (bucket - LINEAR) % SUB;
  const width = 2 ** (exp - SUB_BITS);
  return 2 ** exp + sub * width + width / 2;
}

export const PERCENTILES = [50, 75, 90, 95, 99, 99.9] as const;

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

export class Histogram {
  readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  record(us: number): void {
    this.counts[bucketOf(us)]!++;
    this.count++;
    this.sum += us;
    if (us < this.min) this.min = us;
    if (us > this.max) this.max = us;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = 0;
  }

  /** A copy of the bucket counts, to summarise the interval since with `since`. */
  snapshot(): Uint32Array {
    return this.counts.slice();
  }

  summary(): LatencySummary | undefined {
    if (this.count === 0) return undefined;
    const p = (q: number) => percentile(this.counts, this.count, q, this.max);
    return {
      count: this.count,
      min: round(this.min),
      mean: round(this.sum / this.count),
      p50: p(50),
      p75: p(75),
      p90: p(90),
      p95: p(95),
      p99: p(99),
      p999: p(99.9),
      max: round(this.max),
    };
  }

  /** Percentile q of what was recorded after `before` (a snapshot) was taken. */
  percentileSince(before: Uint32Array, q: number): number | undefined {
    let total = 0;
    for (let i = 0; i < BUCKETS; i++) total += this.counts[i]! - before[i]!;
    if (total === 0) return undefined;
    const diff = new Uint32Array(BUCKETS);
    for (let i = 0; i < BUCKETS; i++) diff[i] = this.counts[i]! - before[i]!;
    return percentile(diff, total, q, this.max);
  }
}

function percentile(counts: Uint32Array, total: number, q: number, max: number): number {
  const rank = Math.max(1, Math.ceil((q / 100) * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= rank) return round(Math.min(valueOf(i), max));
  }
  return round(max);
}

const round = (us: number) => Math.round(us * 10) / 10;
