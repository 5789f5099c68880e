// The JavaScript heap a queue costs (docs/memory.md, "Many queues"): N durable queues declared in
// process on a broker without a store, each bound to amq.direct, measured after full collections.
//   bun scripts/bench_queue_heap.ts [--queues 20000]
import { heapStats } from "bun:jsc";
import { parseArgs } from "node:util";
import { Broker } from "../src/broker/broker.ts";
import { DEFAULTS } from "../src/config.ts";
import type { Logger } from "../src/log.ts";

const { values } = parseArgs({ options: { queues: { type: "string", default: "20000" } } });
const count = Number(values.queues);
const quiet = { debug() {}, info() {}, warning() {}, error() {} } as unknown as Logger;
const broker = new Broker({ ...DEFAULTS }, quiet, null);
broker.addVhost("/");
const vhost = broker.vhosts.get("/")!;
const direct = vhost.exchanges.get("amq.direct")!;

function heap(): { size: number; objects: Record<string, number> } {
  Bun.gc(true);
  Bun.gc(true);
  const stats = heapStats();
  return { size: stats.heapSize, objects: stats.objectTypeCounts as Record<string, number> };
}

const before = heap();
for (let i = 0; i < count; i++) {
  const queue = vhost.declareQueue({ name: `q${i}`, durable: true, exclusive: false, autoDelete: false, args: {} }, {});
  vhost.bind(direct, queue, `k${i % 100}`, {});
}
const after = heap();
const perQueue = (key: string) => ((after.objects[key] ?? 0) - (before.objects[key] ?? 0)) / count;
const kinds = ["Object", "Array", "Function", "JSLexicalEnvironment", "string"];
console.log(
  `${count} queues: ${Math.round((after.size - before.size) / count)} B of heap per queue; per queue: ` +
    kinds.map((k) => `${k} ${perQueue(k).toFixed(2)}`).join(", "),
);
if (vhost.queues.size !== count) throw new Error(`expected ${count} queues, found ${vhost.queues.size}`);
