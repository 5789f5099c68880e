// npm run load: holds 10,000 AMQP connections (or --connections N) against a broker process
// started under a descriptor limit that allows them, then prints the broker's RSS per
// connection and publish/get round-trip times while they are open.
//   bun scripts/connection_load.ts [--connections 10000]
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killAllWarrens, spawnWarren } from "../tests/helpers/warren_process.ts";
import { hardFdLimit, holdConnections, median } from "../tests/load/connection_load.ts";

const { values: o } = parseArgs({ options: { connections: { type: "string", default: "10000" } } });
const n = Number(o.connections);
const hard = hardFdLimit();
if (hard < n + 1000) {
  console.error(`needs a hard descriptor limit of at least ${n + 1000} (this process has ${hard}): raise it with ulimit -Hn as root`);
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), "warren-load-"));
try {
  const proc = await spawnWarren({ dataDir: join(dir, "data"), nofile: Math.min(hard, n + 2000), onOutput: () => {} });
  const started = performance.now();
  const { result, close } = await holdConnections({ port: proc.port, url: proc.url, pid: proc.pid, connections: n, roundTrips: 100 });
  const rt = result.roundTripsMs;
  console.log(
    `${result.connections} connections opened in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s (handshakes pipelined, 200 at a time)`,
  );
  console.log(
    `broker RSS ${Math.round((result.rssBefore ?? 0) / 1048576)} MiB before, ${
      Math.round((result.rssAfter ?? 0) / 1048576)
    } MiB with them open: ${result.perConnectionKiB?.toFixed(1)} KiB per connection`,
  );
  console.log(
    `publish/get round trip while open: median ${median(rt).toFixed(2)} ms, max ${Math.max(...rt).toFixed(2)} ms over ${rt.length}`,
  );
  close();
} finally {
  await killAllWarrens();
  rmSync(dir, { recursive: true, force: true });
}
