// ERTS make_hash2 (erlang:phash2) building blocks, without allocation: each folds one term
// part into the running hash. Callers walk their own values (the consistent-hash exchange its
// header fields, the management API its binding-argument terms) and fold them in ERTS's order.

const HCONST = 0x9e3779b9;
const HCONST_2 = 0x3c6ef372;
const HCONST_3 = 0xdaa66d2b;
const HCONST_4 = 0x78dde6e4;
const HCONST_9 = 0x8ff34781;
const HCONST_10 = 0x2e2ac13a;
const HCONST_11 = 0xcc623af3;
const HCONST_12 = 0x6a99b4ac;
const HCONST_13 = 0x08d12e65;
const NIL_DEF = 0x2;
/** phash2/1 keeps the low 27 bits. */
export const MASK27 = (1 << 27) - 1;

let ma = 0, mb = 0, mc = 0;

/** Bob Jenkins' lookup2 mix over (ma, mb, mc). */
function mix(): void {
  let a = ma, b = mb, c = mc;
  a = (a - b - c) >>> 0;
  a = (a ^ (c >>> 13)) >>> 0;
  b = (b - c - a) >>> 0;
  b = (b ^ (a << 8)) >>> 0;
  c = (c - a - b) >>> 0;
  c = (c ^ (b >>> 13)) >>> 0;
  a = (a - b - c) >>> 0;
  a = (a ^ (c >>> 12)) >>> 0;
  b = (b - c - a) >>> 0;
  b = (b ^ (a << 16)) >>> 0;
  c = (c - a - b) >>> 0;
  c = (c ^ (b >>> 5)) >>> 0;
  a = (a - b - c) >>> 0;
  a = (a ^ (c >>> 3)) >>> 0;
  b = (b - c - a) >>> 0;
  b = (b ^ (a << 10)) >>> 0;
  c = (c - a - b) >>> 0;
  c = (c ^ (b >>> 15)) >>> 0;
  ma = a;
  mb = b;
  mc = c;
}

/** make_hash2's UINT32_HASH_2. */
export function hash2(x: number, y: number, aconst: number, hash: number): number {
  ma = (aconst + x) >>> 0;
  mb = (aconst + y) >>> 0;
  mc = hash >>> 0;
  mix();
  return mc;
}

/** ERTS block_hash over bytes[0, length), seeded with `initval`. */
export function blockHash(k: Uint8Array, length: number, initval: number): number {
  let a = HCONST, b = HCONST, c = initval >>> 0;
  let i = 0;
  for (; length - i >= 12; i += 12) {
    ma = (a + (k[i]! | (k[i + 1]! << 8) | (k[i + 2]! << 16) | (k[i + 3]! << 24))) >>> 0;
    mb = (b + (k[i + 4]! | (k[i + 5]! << 8) | (k[i + 6]! << 16) | (k[i + 7]! << 24))) >>> 0;
    mc = (c + (k[i + 8]! | (k[i + 9]! << 8) | (k[i + 10]! << 16) | (k[i + 11]! << 24))) >>> 0;
    mix();
    a = ma;
    b = mb;
    c = mc;
  }
  c = (c + length) >>> 0;
  const rest = length - i;
  if (rest >= 11) c = (c + (k[i + 10]! << 24)) >>> 0;
  if (rest >= 10) c = (c + (k[i + 9]! << 16)) >>> 0;
  if (rest >= 9) c = (c + (k[i + 8]! << 8)) >>> 0;
  if (rest >= 8) b = (b + (k[i + 7]! << 24)) >>> 0;
  if (rest >= 7) b = (b + (k[i + 6]! << 16)) >>> 0;
  if (rest >= 6) b = (b + (k[i + 5]! << 8)) >>> 0;
  if (rest >= 5) b = (b + k[i + 4]!) >>> 0;
  if (rest >= 4) a = (a + (k[i + 3]! << 24)) >>> 0;
  if (rest >= 3) a = (a + (k[i + 2]! << 16)) >>> 0;
  if (rest >= 2) a = (a + (k[i + 1]! << 8)) >>> 0;
  if (rest >= 1) a = (a + k[i]!) >>> 0;
  ma = a;
  mb = b;
  mc = c;
  mix();
  return mc;
}

/** Folds a binary of bytes[0, length) into the running hash. */
export function binary(bytes: Uint8Array, length: number, hash: number): number {
  const seed = (HCONST_13 + hash) >>> 0;
  return length === 0 ? seed : blockHash(bytes, length, seed);
}

/** hashpjw over the atom's name (atom.c's atom_hash; names here are ASCII). */
export function atomHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) {
    h = ((h << 4) + name.charCodeAt(i)) >>> 0;
    const g = h & 0xf0000000;
    if (g !== 0) h = ((h ^ (g >>> 24)) ^ g) >>> 0;
  }
  return h;
}

export function atom(value: number, hash: number): number {
  return hash === 0 ? value : hash2(value, 0, HCONST_3, hash);
}

/** An integer held exactly in a double. */
export function integer(value: number, hash: number): number {
  if (value >= -(2 ** 27) && value < 2 ** 27) {
    if (value < 0) hash = hash2(-value, 0, HCONST, hash);
    return hash2(value >>> 0, 0, HCONST, hash);
  }
  const magnitude = Math.abs(value);
  return hash2(magnitude % 2 ** 32, Math.floor(magnitude / 2 ** 32) % 2 ** 32, value < 0 ? HCONST_10 : HCONST_11, hash);
}

export function bigInteger(value: bigint, hash: number): number {
  if (value >= -(2n ** 53n) && value <= 2n ** 53n) return integer(Number(value), hash);
  let t = value < 0n ? -value : value;
  const con = value < 0n ? HCONST_10 : HCONST_11;
  do {
    hash = hash2(Number(t & 0xffffffffn), Number((t >> 32n) & 0xffffffffn), con, hash);
    t >>= 64n;
  } while (t > 0n);
  return hash;
}

const floatWords = new Float64Array(1);
const floatHalves = new Uint32Array(floatWords.buffer);

export function float(value: number, hash: number): number {
  floatWords[0] = value === 0 ? 0 : value; // ERTS hashes -0.0 as 0.0
  return hash2(floatHalves[1]!, floatHalves[0]!, HCONST_12, hash);
}

export function tuple(arity: number, hash: number): number {
  return hash2(arity, 0, HCONST_9, hash);
}

export function nil(hash: number): number {
  return hash === 0 ? 3468870702 : hash2(NIL_DEF, 0, HCONST_2, hash);
}

/** Up to four small integers (0..255) of a list, packed big-endian: ERTS hashes strings so. */
export function listBytes(packed: number, hash: number): number {
  return hash2(packed, 0, HCONST_4, hash);
}
