// erlang:phash2/2 for the few term shapes RabbitMQ hashes binding arguments as (ERTS's
// make_hash2: Bob Jenkins' lookup2 mixing over the term's structure). The management API names
// a binding by `routing key ~ base64url(phash2(Args, 2^32))`, so clients that build binding URLs
// from listed properties_key values, or compute them as RabbitMQ does, find the same binding.

/** An Erlang term as far as binding arguments need one. */
export type Term =
  | { kind: "bin"; bytes: Uint8Array }
  | { kind: "atom"; name: string }
  | { kind: "int"; value: bigint }
  | { kind: "float"; value: number }
  | { kind: "tuple"; items: Term[] }
  | { kind: "list"; items: Term[] };

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

/** make_hash2's UINT32_HASH_2: mixes two words into the running hash. */
const uint32Hash2 = (x: number, y: number, aconst: number, hash: number) => mix3(aconst + x, aconst + y, hash)[2];

/** ERTS block_hash over a binary's bytes, seeded with `initval`. */
function blockHash(k: Uint8Array, initval: number): number {
  let a = HCONST, b = HCONST, c = initval >>> 0;
  const word = (i: number) => (k[i]! | (k[i + 1]! << 8) | (k[i + 2]! << 16) | (k[i + 3]! << 24)) >>> 0;
  let i = 0;
  for (; k.length - i >= 12; i += 12) {
    a = (a + word(i)) >>> 0;
    b = (b + word(i + 4)) >>> 0;
    c = (c + word(i + 8)) >>> 0;
    [a, b, c] = mix3(a, b, c);
  }
  c = (c + k.length) >>> 0;
  const rest = k.length - i;
  const at = (n: number) => k[i + n]!;
  if (rest >= 11) c = (c + (at(10) << 24)) >>> 0;
  if (rest >= 10) c = (c + (at(9) << 16)) >>> 0;
  if (rest >= 9) c = (c + (at(8) << 8)) >>> 0;
  if (rest >= 8) b = (b + (at(7) << 24)) >>> 0;
  if (rest >= 7) b = (b + (at(6) << 16)) >>> 0;
  if (rest >= 6) b = (b + (at(5) << 8)) >>> 0;
  if (rest >= 5) b = (b + at(4)) >>> 0;
  if (rest >= 4) a = (a + (at(3) << 24)) >>> 0;
  if (rest >= 3) a = (a + (at(2) << 16)) >>> 0;
  if (rest >= 2) a = (a + (at(1) << 8)) >>> 0;
  if (rest >= 1) a = (a + at(0)) >>> 0;
  return mix3(a, b, c)[2];
}

/** The full mix, keeping a and b (block_hash feeds them into the next block). */
function mix3(a: number, b: number, c: number): [number, number, number] {
  a >>>= 0; b >>>= 0; c >>>= 0;
  a = (a - b - c) >>> 0; a = (a ^ (c >>> 13)) >>> 0;
  b = (b - c - a) >>> 0; b = (b ^ (a << 8)) >>> 0;
  c = (c - a - b) >>> 0; c = (c ^ (b >>> 13)) >>> 0;
  a = (a - b - c) >>> 0; a = (a ^ (c >>> 12)) >>> 0;
  b = (b - c - a) >>> 0; b = (b ^ (a << 16)) >>> 0;
  c = (c - a - b) >>> 0; c = (c ^ (b >>> 5)) >>> 0;
  a = (a - b - c) >>> 0; a = (a ^ (c >>> 3)) >>> 0;
  b = (b - c - a) >>> 0; b = (b ^ (a << 10)) >>> 0;
  c = (c - a - b) >>> 0; c = (c ^ (b >>> 15)) >>> 0;
  return [a, b, c];
}

/** hashpjw over the atom's name, as atom.c's atom_hash (names here are ASCII). */
function atomHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) {
    h = ((h << 4) + name.charCodeAt(i)) >>> 0;
    const g = h & 0xf0000000;
    if (g !== 0) h = ((h ^ (g >>> 24)) ^ g) >>> 0;
  }
  return h;
}

function intHash(value: bigint, hash: number): number {
  if (value >= -(1n << 27n) && value < 1n << 27n) {
    // SINT32_HASH: negative numbers are mixed twice, the second time as their two's complement.
    const y = Number(value);
    if (y < 0) hash = uint32Hash2(-y, 0, HCONST, hash);
    return uint32Hash2(y >>> 0, 0, HCONST, hash);
  }
  const negative = value < 0n;
  let t = negative ? -value : value;
  const con = negative ? HCONST_10 : HCONST_11;
  if (t < 1n << 64n) return uint32Hash2(Number(t & 0xffffffffn), Number(t >> 32n), con, hash);
  // Bignums: 64-bit digits, low first, each as two 32-bit halves.
  do {
    hash = uint32Hash2(Number(t & 0xffffffffn), Number((t >> 32n) & 0xffffffffn), con, hash);
    t >>= 64n;
  } while (t > 0n);
  return hash;
}

/** erlang:phash2(Term, 1 bsl 32). */
export function phash2(term: Term): number {
  let hash = 0;
  const stack: (Term | null)[] = [term]; // null stands for the empty list ([]) at a list's end
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (t === null || (t.kind === "list" && t.items.length === 0)) {
      hash = hash === 0 ? 3468870702 : uint32Hash2(NIL_DEF, 0, HCONST_2, hash);
      continue;
    }
    switch (t.kind) {
      case "list": {
        // Cons cells: leading small integers 0..255 are hashed four at a time (strings).
        const items = t.items;
        let i = 0, sh = 0, c = 0;
        for (; i < items.length; i++) {
          const item = items[i]!;
          if (item.kind !== "int" || item.value < 0n || item.value > 255n) break;
          sh = ((sh << 8) + Number(item.value)) >>> 0;
          if (c === 3) {
            hash = uint32Hash2(sh, 0, HCONST_4, hash);
            c = sh = 0;
          } else c++;
        }
        if (c > 0) hash = uint32Hash2(sh, 0, HCONST_4, hash);
        if (i === items.length) {
          stack.push(null);
          break;
        }
        stack.push({ kind: "list", items: items.slice(i + 1) }, items[i]!);
        break;
      }
      case "tuple":
        hash = uint32Hash2(t.items.length, 0, HCONST_9, hash);
        for (let i = t.items.length - 1; i >= 0; i--) stack.push(t.items[i]!);
        break;
      case "bin":
        hash = t.bytes.length === 0 ? (HCONST_13 + hash) >>> 0 : blockHash(t.bytes, (HCONST_13 + hash) >>> 0);
        break;
      case "atom":
        hash = hash === 0 ? atomHash(t.name) : uint32Hash2(atomHash(t.name), 0, HCONST_3, hash);
        break;
      case "int":
        hash = intHash(t.value, hash);
        break;
      case "float": {
        const view = new DataView(new ArrayBuffer(8));
        view.setFloat64(0, t.value === 0 ? 0 : t.value, true); // positive zero, as ERTS
        hash = uint32Hash2(view.getUint32(4, true), view.getUint32(0, true), HCONST_12, hash);
        break;
      }
    }
  }
  return hash;
}
