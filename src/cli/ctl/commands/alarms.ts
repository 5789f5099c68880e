// set_vm_memory_high_watermark and set_disk_free_limit: the resource alarms' thresholds, changed
// at run time as rabbitmqctl changes them (tests set a tiny watermark to see publishers blocked).
// RabbitMQ's HTTP API has no such paths: PUT /api/nodes/{node}/memory-high-watermark and
// /disk-free-limit are Warren's (src/http/routes/nodes.ts).
import { parseBytes } from "../../../config_keys.ts";
import { apiPath } from "../client.ts";
import type { Command } from "../command.ts";
import { CtlUsageError } from "../errors.ts";

const UNITS_HELP = "a whole number of bytes with an optional unit (k, kiB, KB, M, MiB, MB, G, GiB, GB)";

function fraction(value: string, what: string, max: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > max) {
    throw new CtlUsageError(`${what} must be a number from 0 to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function byteCount(value: string, what: string): number {
  const n = parseBytes(value);
  if (n === undefined) throw new CtlUsageError(`${what} must be ${UNITS_HELP}, got ${JSON.stringify(value)}`);
  return n;
}

export const ALARM_COMMANDS: Command[] = [
  {
    name: "set_vm_memory_high_watermark",
    group: "Resource alarms",
    summary: "Sets the memory alarm's threshold: a fraction of the memory limit, or bytes",
    usage: "<fraction> | absolute <memory_limit>",
    arity: [1, 2],
    details: "A fraction from 0 to 1 of the machine's (or the container's) memory, or `absolute` and a size\n" +
      `(${UNITS_HELP}). Takes effect at once and lasts until the broker restarts, as in rabbitmqctl.\n` +
      "A tiny value sets the memory alarm: publishing connections are blocked until it is raised again.",
    async run(ctx) {
      const [first, second] = ctx.args as [string, string | undefined];
      let body: { relative: number } | { absolute: number };
      if (first === "absolute") {
        if (second === undefined) throw new CtlUsageError("absolute needs a memory limit");
        const absolute = byteCount(second, "the memory limit");
        if (absolute < 2) throw new CtlUsageError("the memory limit must be at least 2 bytes");
        body = { absolute };
      } else {
        if (second !== undefined) throw new CtlUsageError(`expected <fraction> or absolute <memory_limit>`);
        body = { relative: fraction(first, "the fraction", 1) };
      }
      const node = (await ctx.api.node()) ?? "";
      ctx.out.info(`Setting memory threshold on ${node} to ${first === "absolute" ? `${second} bytes` : first} ...`);
      await ctx.api.put(apiPath("nodes", node, "memory-high-watermark"), body);
    },
  },
  {
    name: "set_disk_free_limit",
    group: "Resource alarms",
    summary: "Sets the disk alarm's free space limit: bytes, or a multiple of the memory limit",
    usage: "<disk_limit> | mem_relative <fraction>",
    arity: [1, 2],
    details: `A size (${UNITS_HELP}), or \`mem_relative\` and a multiple of the memory limit (1.0: as much\n` +
      "free disk as there is memory). Takes effect at once and lasts until the broker restarts.",
    async run(ctx) {
      const [first, second] = ctx.args as [string, string | undefined];
      let body: { absolute: number } | { mem_relative: number };
      if (first === "mem_relative") {
        if (second === undefined) throw new CtlUsageError("mem_relative needs a fraction");
        body = { mem_relative: fraction(second, "the multiple", Number.MAX_SAFE_INTEGER) };
      } else {
        if (second !== undefined) throw new CtlUsageError(`expected <disk_limit> or mem_relative <fraction>`);
        body = { absolute: byteCount(first, "the disk limit") };
      }
      const node = (await ctx.api.node()) ?? "";
      const what = "absolute" in body ? `${body.absolute} bytes` : `${second} times the memory limit`;
      ctx.out.info(`Setting disk free limit on ${node} to ${what} ...`);
      await ctx.api.put(apiPath("nodes", node, "disk-free-limit"), body);
    },
  },
];
