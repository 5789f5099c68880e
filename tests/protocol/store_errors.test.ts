// The store refuses what it cannot safely use, says why, and never wipes it.
import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "../../mod.ts";

let dir = "";
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const start = () => startBroker({ port: 0, bind: "127.0.0.1", dataDir: dir, logLevel: "none" });

test("a second broker on the same data dir is refused while the first runs, and starts after it stops", async () => {
  dir = await mkdtemp(join(tmpdir(), "warren-store-"));
  const first = await start();
  await expect(start()).rejects.toThrow(/another Warren process is using it/);
  await first.stop();
  const second = await start();
  await second.stop();
});

test("a store written by a newer Warren is refused, not touched", async () => {
  dir = await mkdtemp(join(tmpdir(), "warren-store-"));
  await (await start()).stop();
  const db = new Database(join(dir, "warren.sqlite"));
  db.exec("INSERT INTO schema_version (version) VALUES (999)");
  db.close();
  await expect(start()).rejects.toThrow(/schema version 999, newer than this Warren supports/);
  const check = new Database(join(dir, "warren.sqlite"));
  expect(check.prepare("SELECT MAX(version) AS v FROM schema_version").get()).toEqual({ v: 999 });
  check.close();
});

test("a corrupt store file is reported and left in place", async () => {
  dir = await mkdtemp(join(tmpdir(), "warren-store-"));
  const path = join(dir, "warren.sqlite");
  const garbage = new Uint8Array(8192).map((_, i) => (i * 31 + 7) & 0xff);
  writeFileSync(path, garbage);
  await expect(start()).rejects.toThrow(/Cannot open the store at .*warren\.sqlite/);
  expect(existsSync(path)).toBe(true);
  expect(new Uint8Array(readFileSync(path))).toEqual(garbage);
});
