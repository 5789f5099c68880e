// Migration 2 (users/vhosts metadata, limits, topic permissions) applied to a store written by
// schema 1: existing users, permissions and vhosts stay, and the store is not taken for new.
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../../src/log.ts";
import { MIGRATIONS } from "../../../storage/schema.ts";
import { SqliteStore } from "../../../storage/sqlite_store.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test("a schema 1 store upgrades: users, permissions and vhosts kept, defaults not recreated", async () => {
  const dir = await mkdtemp(join(tmpdir(), "warren-schema-"));
  dirs.push(dir);
  const db = new Database(join(dir, "warren.sqlite"));
  db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
  db.exec(MIGRATIONS.find((m) => m.version === 1)!.sql);
  db.exec("INSERT INTO schema_version (version) VALUES (1)");
  db.exec("INSERT INTO vhosts (name) VALUES ('/')");
  db.exec("INSERT INTO users VALUES ('admin', '', 'rabbit_password_hashing_sha256', 'administrator')");
  db.exec("INSERT INTO permissions VALUES ('admin', '/', '.*', '.*', '.*')");
  db.close(true);

  const store = SqliteStore.open(dir, { fsync: false, log: createLogger("none") });
  try {
    expect(store.isFresh).toBe(false);
    const meta = store.loadMetadata();
    expect(meta.vhosts).toEqual([{ name: "/", description: "", tags: "", limits: "{}" }]);
    expect(meta.users).toEqual([{
      name: "admin",
      password_hash: "",
      hashing_algorithm: "rabbit_password_hashing_sha256",
      tags: "administrator",
      limits: "{}",
    }]);
    expect(meta.permissions).toHaveLength(1);
    expect(meta.topicPermissions).toEqual([]);
  } finally {
    store.close();
  }
});
