// Redeclaring an entity with different properties is 406 PRECONDITION_FAILED, worded as
// rabbit_misc:assert_field_equivalence / assert_args_equivalence word it.
import { preconditionFailed } from "../amqp/errors.ts";
import { canonicalType, FIELD_TYPES, type FieldTable, type FieldType, type FieldValue } from "../amqp/table.ts";
import { ERLANG_TYPE_NAMES } from "../routing/field_values.ts";

export function typeName(type: FieldType): string {
  return ERLANG_TYPE_NAMES[type];
}

/** Integer types compare equal to each other, as do float and double (rabbit_misc:type_class). */
function typeClass(type: FieldType): string {
  if ("bBsuIilD".includes(type)) return "int";
  if (type === "f" || type === "d") return "float";
  return type;
}

export function assertFieldEquivalence(
  current: boolean | string,
  received: boolean | string,
  resource: string,
  key: string,
): void {
  if (current !== received) {
    throw preconditionFailed(`inequivalent arg '${key}' for ${resource}: received '${received}' but current is '${current}'`);
  }
}

/** Compares the listed argument keys of the existing and the redeclared entity. */
export function assertArgsEquivalence(current: FieldTable, received: FieldTable, resource: string, keys: readonly string[]): void {
  for (const key of keys) {
    const a = typedLookup(current, key);
    const b = typedLookup(received, key);
    if (a === undefined && b === undefined) continue;
    if (a && b && typeClass(a.type) === typeClass(b.type) && sameValue(a.value, b.value)) continue;
    // A classic queue may be declared with or without x-queue-type=classic.
    if (key === "x-queue-type" && (a?.value ?? "classic") === "classic" && (b?.value ?? "classic") === "classic") continue;
    // rabbit_misc prints bare values when both sides have one, typed values against "none".
    const [got, have] = a && b ? [quoted(b.value), quoted(a.value)] : [describe(b), describe(a)];
    throw preconditionFailed(`inequivalent arg '${key}' for ${resource}: received ${got} but current is ${have}`);
  }
}

export interface TypedValue {
  type: FieldType;
  value: FieldValue;
}

export function typedLookup(table: FieldTable, key: string): TypedValue | undefined {
  if (!Object.hasOwn(table, key)) return undefined;
  const value = table[key]!;
  const notes = (table as { [FIELD_TYPES]?: Record<string, FieldType> })[FIELD_TYPES];
  return { type: notes?.[key] ?? canonicalType(value), value };
}

function sameValue(a: FieldValue, b: FieldValue): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(b);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return a === b;
}

function describe(v: TypedValue | undefined): string {
  if (!v) return "none";
  return `the value ${quoted(v.value)} of type '${ERLANG_TYPE_NAMES[v.type]}'`;
}

function quoted(value: FieldValue): string {
  return `'${value instanceof Uint8Array ? Buffer.from(value).toString("latin1") : String(value)}'`;
}
