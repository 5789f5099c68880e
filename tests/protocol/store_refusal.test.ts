// What a restart must not do: a message's expiry keeps running while the broker is down, and
// the store refuses what it cannot safely use (a second broker on the same data dir, in-process
// and as a separate process; a store from a newer schema version; a corrupt store file),
// reporting it clearly and leaving it untouched.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killAllWarrens, launchWarren } from "../helpers/warren_process.ts";
import { withTimeout } from "../helpers/broker.ts";
import { cleanupRestartBrokers, connect, drainAll, start, stop, tempDir } from "../helpers/restart_brokers.ts";

setDefaultTimeout(90_000);

afterAll(async () => {
  await cleanupRestartBrokers();
  await killAllWarrens();
});

describe("graceful restart: message expiry", () => {
  test("a message's expiry survives a restart: it expires on time even though the broker was down", async () => {
    const dir = await tempDir();
    let b = await start(dir);
    let conn = await connect(b.url);
    let ch = await conn.createChannel();
    await ch.assertQueue("ttl-q", { durable: true });
    ch.sendToQueue("ttl-q", Buffer.from("short"), { persistent: true, expiration: "300" });
    ch.sendToQueue("ttl-q", Buffer.from("long"), { persistent: true, expiration: "600000" });
    await ch.checkQueue("ttl-q");
    await conn.close();
    await stop(b.broker);
    await new Promise((r) => setTimeout(r, 400));
    b = await start(dir);
    conn = await connect(b.url);
    ch = await conn.createChannel();
    const m = await ch.get("ttl-q", { noAck: true });
    expect(m && m.content.toString()).toBe("long");
    await conn.close();
    await stop(b.broker);
  });
});

describe("the store refuses what it cannot safely use, and leaves it alone", () => {
  /** A store with one durable queue holding one persistent message, stopped. */
  async function storeWithData(): Promise<string> {
    const dir = await tempDir();
    const b = await start(dir);
    const conn = await connect(b.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue("kept", { durable: true });
    ch.sendToQueue("kept", Buffer.from("still here"), { persistent: true });
    await ch.waitForConfirms();
    await conn.close();
    await stop(b.broker);
    return dir;
  }

  async function expectKept(dir: string): Promise<void> {
    const b = await start(dir);
    const conn = await connect(b.url);
    const ch = await conn.createChannel();
    const m = await ch.get("kept", { noAck: false });
    expect(m && m.content.toString()).toBe("still here");
    await conn.close();
    await stop(b.broker);
  }

  /** `bun src/main.ts` on `dir`: exit code and output (it must exit by itself). */
  async function startProcess(dir: string): Promise<{ exit: number | string; output: string }> {
    const proc = await launchWarren({ dataDir: dir });
    const exit = await withTimeout(proc.exit, 30_000, "a refused broker process exiting");
    return { exit, output: proc.output() };
  }

  test("a second broker on the same data dir is refused while the first runs (in-process and as a process); after the stop it starts", async () => {
    const dir = await storeWithData();
    const first = await start(dir);
    await expect(start(dir)).rejects.toThrow(/another Warren process is using it/);
    const other = await startProcess(dir);
    expect(other.exit).toBe(1);
    expect(other.output).toMatch(/cannot start: .*another Warren process is using it/);
    expect(other.output).not.toContain("Server startup complete");
    // The first broker is undisturbed: it still serves and writes its store.
    const conn = await connect(first.url);
    const ch = await conn.createConfirmChannel();
    ch.sendToQueue("kept", Buffer.from("written while refused"), { persistent: true });
    await ch.waitForConfirms();
    await conn.close();
    await stop(first.broker);
    const again = await start(dir);
    const c2 = await connect(again.url);
    const ch2 = await c2.createChannel();
    expect((await drainAll(ch2, "kept")).map((m) => m.body)).toEqual(["still here", "written while refused"]);
    await c2.close();
    await stop(again.broker);
  });

  test("a store written by a newer Warren (higher schema version) is refused and not touched", async () => {
    const dir = await storeWithData();
    const path = join(dir, "warren.sqlite");
    const db = new Database(path);
    const query = db.prepare("SELECT MAX(version) AS v FROM schema_version");
    const current = (query.get() as { v: number }).v;
    query.finalize();
    db.exec(`INSERT INTO schema_version (version) VALUES (${current + 1})`);
    db.close(true); // really closed: an open handle would hold a lock on the file
    const bytes = readFileSync(path);

    await expect(start(dir)).rejects.toThrow(new RegExp(`schema version ${current + 1}, newer than this Warren supports \\(${current}\\)`));
    const proc = await startProcess(dir);
    expect(proc.exit).toBe(1);
    expect(proc.output).toMatch(new RegExp(`cannot start: .*schema version ${current + 1}, newer`));
    expect(readFileSync(path).equals(bytes)).toBe(true);

    // Nothing was lost: with the version put back, everything is there.
    const fix = new Database(path);
    fix.exec(`DELETE FROM schema_version WHERE version = ${current + 1}`);
    fix.close(true);
    await expectKept(dir);
  });

  test("a corrupt store file (SQLite header overwritten) is reported, not wiped", async () => {
    const dir = await storeWithData();
    const path = join(dir, "warren.sqlite");
    const original = readFileSync(path);
    expect(original.subarray(0, 16).toString("latin1")).toBe("SQLite format 3\0");
    const corrupt = Buffer.from(original);
    corrupt.write("NOT A DATABASE!!", 0, "latin1");
    writeFileSync(path, corrupt);

    await expect(start(dir)).rejects.toThrow(/Cannot open the store at .*warren\.sqlite: .*(not a database|malformed|corrupt)/i);
    const proc = await startProcess(dir);
    expect(proc.exit).toBe(1);
    expect(proc.output).toMatch(/cannot start: Cannot open the store at .*warren\.sqlite/);
    expect(existsSync(path)).toBe(true);
    expect(readFileSync(path).equals(corrupt)).toBe(true);

    // Repairing the header brings everything back: nothing was wiped or rewritten.
    writeFileSync(path, original);
    await expectKept(dir);
  });
});
