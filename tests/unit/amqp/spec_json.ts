// Test helper: the RabbitMQ AMQP 0-9-1 spec JSON, read at test time from the reference directory
// beside the repository (it is never copied into the project). A fresh clone does not have it:
// the tests that compare against it then skip with a message naming the file; the rest run.
// WARREN_AMQP_SPEC names the file explicitly; then a missing file is an error, not a skip.
import { test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface SpecArg {
  name: string;
  type?: string;
  domain?: string;
  "default-value"?: unknown;
}

export interface SpecMethod {
  name: string;
  id: number;
  synchronous?: boolean;
  content?: boolean;
  arguments: SpecArg[];
}

export interface SpecClass {
  name: string;
  id: number;
  methods: SpecMethod[];
  properties?: { name: string; type: string }[];
}

export interface Spec {
  constants: { name: string; value: number; class?: string }[];
  domains: [string, string][];
  classes: SpecClass[];
}

/** tests/unit/amqp → repo root → ../shared/reference, unless WARREN_AMQP_SPEC names the file. */
const NAMED = process.env.WARREN_AMQP_SPEC || undefined; // empty counts as unset
export const SPEC_PATH = NAMED ??
  join(import.meta.dir, "..", "..", "..", "..", "shared", "reference", "amqp-rabbitmq-0.9.1.json");

/** Whether the spec JSON is there; without it `specTest` skips. */
export const specAvailable = NAMED !== undefined || existsSync(SPEC_PATH);

let warned = false;
if (!specAvailable && !warned) {
  warned = true;
  console.warn(`tests comparing the codec with the AMQP spec JSON skipped: ${SPEC_PATH} not found (set WARREN_AMQP_SPEC to its path)`);
}

/** The spec, or an empty one when the file is absent (only `specTest` bodies may rely on it). */
export const spec: Spec = specAvailable ? JSON.parse(readFileSync(SPEC_PATH, "utf8")) as Spec : { constants: [], domains: [], classes: [] };

/** `test` when the spec JSON is there, `test.skip` when it is not. */
export const specTest: typeof test = specAvailable ? test : test.skip;

const domains = new Map(spec.domains);

/** The primitive type of an argument, resolving its domain. */
export function argType(a: SpecArg): string {
  const t = a.type ?? (a.domain === undefined ? undefined : domains.get(a.domain));
  if (t === undefined) throw new Error(`argument ${a.name} has no type (domain ${a.domain})`);
  return t;
}

/** "routing-key" → "routingKey"; "nowait" stays "nowait". */
export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export interface SpecMethodRef {
  cls: SpecClass;
  method: SpecMethod;
  /** "basic.publish" */
  fullName: string;
  /** classId << 16 | methodId, as MethodId spells it. */
  id: number;
}

export const allMethods: SpecMethodRef[] = spec.classes.flatMap((cls) =>
  cls.methods.map((method) => ({
    cls,
    method,
    fullName: `${cls.name}.${method.name}`,
    id: cls.id * 65536 + method.id,
  }))
);
