// MQTT topics and the AMQP routing keys they map to, as RabbitMQ's MQTT plugin maps them: `/`
// and `.` swap places, and in filters `+` becomes `*` (`#` stays). Also the MQTT matching rules
// the topic exchange cannot express: `$`-topics are not matched by a leading wildcard.

/** A topic name a client may publish to: not empty, no wildcards. */
export function validTopicName(topic: string): boolean {
  return topic.length > 0 && !topic.includes("+") && !topic.includes("#");
}

/** A topic filter: `#` only last and alone in its level, `+` alone in its level. */
export function validTopicFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1)) return false;
    if (level.includes("+") && level !== "+") return false;
  }
  return true;
}

/**
 * Swaps `.` and `/`. Devices publish to the same few topics again and again, so results are
 * kept (swapping is its own inverse: one cache serves both directions); the cache is replaced
 * when full rather than cleared (docs/performance.md, "Other Maps and Sets on the message path").
 */
function swap(text: string): string {
  let swapped = swaps.get(text);
  if (swapped !== undefined) return swapped;
  swapped = text.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
  if (swaps.size >= SWAPS_KEPT) swaps = new Map();
  swaps.set(text, swapped);
  return swapped;
}

const SWAPS_KEPT = 4096;
let swaps = new Map<string, string>();

/** MQTT topic -> AMQP routing key: "a/b.c" -> "a.b/c". */
export const topicToRoutingKey = swap;
/** AMQP routing key -> MQTT topic. */
export const routingKeyToTopic = swap;

/** MQTT filter -> AMQP binding key: "+/b.c/#" -> "*.b/c.#". */
export function filterToBindingKey(filter: string): string {
  return filter.split("/").map((level) => (level === "+" ? "*" : level.replace(/\./g, "/"))).join(".");
}

/** AMQP binding key -> MQTT filter (a subscription recovered from its queue's bindings). */
export function bindingKeyToFilter(key: string): string {
  return key.split(".").map((word) => (word === "*" ? "+" : word.replace(/\//g, "."))).join("/");
}

/** MQTT matching (4.7): `+` one level, `#` the rest (and the parent), `$`-topics not by wildcards first. */
export function topicMatches(filter: string, topic: string): boolean {
  // Runs for every delivery and subscription: levels are compared in place, nothing is split.
  if (topic.charCodeAt(0) === DOLLAR && (filter.charCodeAt(0) === PLUS || filter.charCodeAt(0) === HASH)) return false;
  if (filter === topic) return true; // a topic name has no wildcards
  let f = 0; // start of the filter's level
  let t = 0; // start of the topic's level; -1 once the topic has no level left
  for (;;) {
    let fEnd = filter.indexOf("/", f);
    if (fEnd < 0) fEnd = filter.length;
    if (fEnd - f === 1 && filter.charCodeAt(f) === HASH) return true; // the rest, and the parent
    if (t < 0) return false;
    let tEnd = topic.indexOf("/", t);
    if (tEnd < 0) tEnd = topic.length;
    if (!(fEnd - f === 1 && filter.charCodeAt(f) === PLUS) && !sameLevel(filter, f, fEnd, topic, t, tEnd)) return false;
    if (fEnd === filter.length) return tEnd === topic.length;
    f = fEnd + 1;
    t = tEnd === topic.length ? -1 : tEnd + 1;
  }
}

const DOLLAR = 36;
const HASH = 35;
const PLUS = 43;

function sameLevel(a: string, aFrom: number, aTo: number, b: string, bFrom: number, bTo: number): boolean {
  if (aTo - aFrom !== bTo - bFrom) return false;
  for (let i = 0; i < aTo - aFrom; i++) if (a.charCodeAt(aFrom + i) !== b.charCodeAt(bFrom + i)) return false;
  return true;
}
