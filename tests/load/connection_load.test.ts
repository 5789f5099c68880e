// A short connection load in npm test (LOAD_CONNECTIONS, 1,000 by default; `npm run load` holds
// 10,000): every connection is accepted and kept, a publish/get round trip still completes while
// they are open, and the broker's RSS per connection is reported (bounded, not timed).
import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { killAllWarrens, spawnWarren } from "../helpers/warren_process.ts";
import { hardFdLimit, holdConnections, median } from "./connection_load.ts";

const N = Number(process.env.LOAD_CONNECTIONS ?? 1000);
const nofile = Math.min(hardFdLimit(), N + 2000);
const usable = spawnSync("prlimit", ["--version"]).status === 0 && hardFdLimit() >= N + 1000;
if (!usable) console.warn(`connection load skipped: needs prlimit and a hard descriptor limit of at least ${N + 1000}`);

afterAll(() => killAllWarrens());

test.skipIf(!usable)(`${N} connections held: all accepted, a round trip completes, RSS per connection reported`, async () => {
  const dir = await mkdtemp(join(tmpdir(), "warren-load-"));
  try {
    const proc = await spawnWarren({ dataDir: join(dir, "data"), nofile, logLevel: "info", onOutput: () => {} });
    const { result, close } = await holdConnections({ port: proc.port, url: proc.url, pid: proc.pid, connections: N });
    console.log(
      `connection load: ${result.connections} connections, broker RSS ${Math.round((result.rssBefore ?? 0) / 1048576)} → ${
        Math.round((result.rssAfter ?? 0) / 1048576)
      } MiB, ` +
        `${result.perConnectionKiB?.toFixed(1)} KiB per connection, round trip median ${median(result.roundTripsMs).toFixed(2)} ms (max ${
          Math.max(...result.roundTripsMs).toFixed(2)
        } ms)`,
    );
    close();
    expect(result.connections).toBe(N);
    expect(result.roundTripsMs.length).toBe(20);
    if (result.perConnectionKiB !== undefined) expect(result.perConnectionKiB).toBeLessThan(256);
  } finally {
    await killAllWarrens();
    await rm(dir, { recursive: true, force: true });
  }
});
