// RabbitMQ's jump consistent hash: rand:seed_s(exs1024, {K, K, K}) with K = phash2(Value), then
// Lamping & Veach's jump with rand:uniform_s floats. The exs1024 (xorshift1024*) state is 16
// 64-bit words kept as 32-bit halves in a reused array, so a lookup allocates nothing.

const state = new Uint32Array(32); // word i: hi at 2i, lo at 2i+1
let p = 0;
let rhi = 0, rlo = 0; // the result of the last 64-bit operation

const MASK21 = (1 << 21) - 1;

/** rhi:rlo = a * b mod 2^64, for 64-bit a and b given as halves. */
function mul64(ahi: number, alo: number, bhi: number, blo: number): void {
  const a0 = alo & 0xffff, a1 = alo >>> 16, b0 = blo & 0xffff, b1 = blo >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  rlo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  rhi = (carry + Math.imul(alo, bhi) + Math.imul(ahi, blo)) >>> 0;
}

// 2685821657736338717 and 1181783497276652981 as halves.
const EXS64_HI = 0x2545f491, EXS64_LO = 0x4f6cdd1d;
const EXS1024_HI = 0x106689d4, EXS1024_LO = 0x5497fdb5;

/** Seeds the state as exs1024_seed({K, K, K}) does (exs64 steps, newest word first). */
function seed(key: number): void {
  const k = key & MASK21;
  const b1 = (((k + 1) * 2097131) % 2 ** 21) >>> 0;
  const b2 = (((k + 1) * 2097133) % 2 ** 21) >>> 0;
  const b3 = (((k + 1) * 2097143) % 2 ** 21) >>> 0;
  // (B1 bsl 43) bor (B2 bsl 22) bor (B3 bsl 1) bor 1
  let hi = ((b1 << 11) | (b2 >>> 10)) >>> 0;
  let lo = (((b2 & 0x3ff) << 22) | (b3 << 1) | 1) >>> 0;
  for (let n = 15; n >= 0; n--) {
    // R1 = R bxor (R bsr 12)
    lo = (lo ^ ((lo >>> 12) | (hi << 20))) >>> 0;
    hi = (hi ^ (hi >>> 12)) >>> 0;
    // R2 = R1 bxor ((R1 bsl 25) mod 2^64)
    hi = (hi ^ ((hi << 25) | (lo >>> 7))) >>> 0;
    lo = (lo ^ (lo << 25)) >>> 0;
    // R3 = R2 bxor (R2 bsr 27)
    lo = (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0;
    hi = (hi ^ (hi >>> 27)) >>> 0;
    mul64(hi, lo, EXS64_HI, EXS64_LO);
    state[2 * n] = rhi;
    state[2 * n + 1] = rlo;
  }
  p = 0;
}

/** exs1024_next, then V / 2^64 as a float (rand:uniform_s for an algorithm with `max`). */
function uniform(): number {
  const s0hi = state[2 * p]!, s0lo = state[2 * p + 1]!;
  p = (p + 1) & 15;
  let s1hi = state[2 * p]!, s1lo = state[2 * p + 1]!;
  // S11 = S1 bxor ((S1 bsl 31) mod 2^64); S12 = S11 bxor (S11 bsr 11)
  s1hi = (s1hi ^ ((s1hi << 31) | (s1lo >>> 1))) >>> 0;
  s1lo = (s1lo ^ (s1lo << 31)) >>> 0;
  s1lo = (s1lo ^ ((s1lo >>> 11) | (s1hi << 21))) >>> 0;
  s1hi = (s1hi ^ (s1hi >>> 11)) >>> 0;
  // S01 = S0 bxor (S0 bsr 30); NS1 = S01 bxor S12
  const nhi = (s0hi ^ (s0hi >>> 30) ^ s1hi) >>> 0;
  const nlo = (s0lo ^ ((s0lo >>> 30) | (s0hi << 2)) ^ s1lo) >>> 0;
  state[2 * p] = nhi;
  state[2 * p + 1] = nlo;
  mul64(nhi, nlo, EXS1024_HI, EXS1024_LO);
  return (rhi * 2 ** 32 + rlo) / 2 ** 64;
}

/** The bucket in [0, buckets) RabbitMQ picks for phash2 value `key` (buckets >= 1). */
export function jumpConsistentHash(key: number, buckets: number): number {
  if (buckets === 1) return 0;
  seed(key);
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    const r = uniform();
    if (r === 0) break; // Erlang fails with badarith; 2^-64 odds
    j = Math.trunc((b + 1) / r);
  }
  return b;
}
