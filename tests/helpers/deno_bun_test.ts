// The part of bun:test that the store conformance suite uses, on Deno.test, so the same suite
// runs against the SQLite store on node:sqlite: `deno task test:store` (deno.json maps "bun:test"
// here). Only what that suite needs; an unsupported matcher fails loudly.
import { isDeepStrictEqual } from "node:util";

type Hook = () => void | Promise<void>;

const prefixes: string[] = [];
const afterEachHooks: Hook[][] = [[]];

export function describe(name: string, body: () => void): void {
  prefixes.push(name);
  afterEachHooks.push([]);
  try {
    body();
  } finally {
    prefixes.pop();
    afterEachHooks.pop();
  }
}

export function afterEach(hook: Hook): void {
  afterEachHooks[afterEachHooks.length - 1]!.push(hook);
}

export function test(name: string, body: () => void | Promise<void>, _timeoutMs?: number): void {
  const hooks = afterEachHooks.flat();
  Deno.test({
    name: [...prefixes, name].join(" > "),
    // The suite's stores use timers and files across tests, as under bun test.
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      try {
        await body();
      } finally {
        for (const hook of hooks) await hook();
      }
    },
  });
}

/** Equal as bun's toEqual: same own enumerable values, prototypes ignored, undefined properties ignored. */
function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) return isDeepStrictEqual(a, b);
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Map && b instanceof Map) return equal([...a], [...b]);
  if (a instanceof Set && b instanceof Set) return equal([...a], [...b]);
  const keys = (o: object) => Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
  const ka = keys(a);
  const kb = keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function fail(actual: unknown, what: string, expected?: unknown): never {
  throw new Error(
    `expected ${Deno.inspect(actual, { depth: 6 })} ${what}${arguments.length > 2 ? ` ${Deno.inspect(expected, { depth: 6 })}` : ""}`,
  );
}

export function expect(actual: unknown) {
  return {
    toBe(expected: unknown) {
      if (!Object.is(actual, expected)) fail(actual, "to be", expected);
    },
    toEqual(expected: unknown) {
      if (!equal(actual, expected)) fail(actual, "to equal", expected);
    },
    toBeLessThan(limit: number) {
      if (!((actual as number) < limit)) fail(actual, "to be less than", limit);
    },
    toBeUndefined() {
      if (actual !== undefined) fail(actual, "to be undefined");
    },
  };
}
