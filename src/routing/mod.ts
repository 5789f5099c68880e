// INTERIM: a simple stand-in while the real routers (trie, headers) are being written.
// It is replaced by the routing work; do not build on its internals.
import type { FieldTable } from "../amqp/table.ts";
import type { HeadersAccess, Router } from "./router.ts";

export type ExchangeTypeName = "direct" | "fanout" | "topic" | "headers";
export const BUILTIN_EXCHANGE_TYPES: readonly ExchangeTypeName[] = ["direct", "fanout", "topic", "headers"];

interface B<D> { key: string; args: string; dest: D }

class ListRouter<D> implements Router<D> {
  private bindings: B<D>[] = [];
  constructor(private readonly matches: (key: string, b: B<D>, headers: HeadersAccess) => boolean) {}
  get size() { return this.bindings.length; }
  private find(key: string, args: FieldTable, dest: D) {
    const a = JSON.stringify(args);
    return this.bindings.findIndex((b) => b.key === key && b.args === a && b.dest === dest);
  }
  bind(key: string, args: FieldTable, dest: D) {
    if (this.find(key, args, dest) >= 0) return false;
    this.bindings.push({ key, args: JSON.stringify(args), dest });
    return true;
  }
  has(key: string, args: FieldTable, dest: D) { return this.find(key, args, dest) >= 0; }
  unbind(key: string, args: FieldTable, dest: D) {
    const i = this.find(key, args, dest);
    if (i < 0) return false;
    this.bindings.splice(i, 1);
    return true;
  }
  route(key: string, headers: HeadersAccess, out: Set<D>) {
    for (const b of this.bindings) if (this.matches(key, b, headers)) out.add(b.dest);
  }
  removeDestination(dest: D) { this.bindings = this.bindings.filter((b) => b.dest !== dest); }
}

function topicMatch(pattern: string, key: string): boolean {
  const p = pattern.split(".");
  const k = key.split(".");
  const m = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === "#") return m(i + 1, j) || (j < k.length && m(i, j + 1));
    if (j === k.length) return false;
    return (p[i] === "*" || p[i] === k[j]) && m(i + 1, j + 1);
  };
  return m(0, 0);
}

export function createRouter<D>(type: ExchangeTypeName): Router<D> {
  switch (type) {
    case "direct": return new ListRouter<D>((key, b) => b.key === key);
    case "fanout": return new ListRouter<D>(() => true);
    case "topic": return new ListRouter<D>((key, b) => topicMatch(b.key, key));
    case "headers": return new ListRouter<D>(() => false);
  }
}

export function validateBinding(_type: ExchangeTypeName, _args: FieldTable): void {}
