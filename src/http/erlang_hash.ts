// erlang:phash2/2 for the few term shapes RabbitMQ hashes binding arguments as (ERTS's
// make_hash2 over the term's structure; the mixing is src/erlang/make_hash2.ts). The management API names
// a binding by `routing key ~ base64url(phash2(Args, 2^32))`, so clients that build binding URLs
// from listed properties_key values, or compute them as RabbitMQ does, find the same binding.

import { atom, atomHash, bigInteger, binary, float, listBytes, nil, tuple } from "../erlang/make_hash2.ts";

/** An Erlang term as far as binding arguments need one. */
export type Term =
  | { kind: "bin"; bytes: Uint8Array }
  | { kind: "atom"; name: string }
  | { kind: "int"; value: bigint }
  | { kind: "float"; value: number }
  | { kind: "tuple"; items: Term[] }
  | { kind: "list"; items: Term[] };

/** erlang:phash2(Term, 1 bsl 32). */
export function phash2(term: Term): number {
  let hash = 0;
  const stack: (Term | null)[] = [term]; // null stands for the empty list ([]) at a list's end
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (t === null || (t.kind === "list" && t.items.length === 0)) {
      hash = nil(hash);
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
            hash = listBytes(sh, hash);
            c = sh = 0;
          } else c++;
        }
        if (c > 0) hash = listBytes(sh, hash);
        if (i === items.length) {
          stack.push(null);
          break;
        }
        stack.push({ kind: "list", items: items.slice(i + 1) }, items[i]!);
        break;
      }
      case "tuple":
        hash = tuple(t.items.length, hash);
        for (let i = t.items.length - 1; i >= 0; i--) stack.push(t.items[i]!);
        break;
      case "bin":
        hash = binary(t.bytes, t.bytes.length, hash);
        break;
      case "atom":
        hash = atom(atomHash(t.name), hash);
        break;
      case "int":
        hash = bigInteger(t.value, hash);
        break;
      case "float":
        hash = float(t.value, hash);
        break;
    }
  }
  return hash;
}
