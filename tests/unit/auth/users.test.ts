// Permission regexes as rabbit_auth_backend_internal evaluates them, and topic permissions.
import { describe, expect, test } from "bun:test";
import { Users } from "../../../src/auth/users.ts";

const allowed = (users: Users, kind: "configure" | "write" | "read", name: string) => users.permission("u", "/")!.test[kind].test(name);

describe("vhost permissions", () => {
  test("a pattern is searched anywhere in the name, as re:run does", () => {
    const users = new Users();
    users.add("u", "pw");
    users.setPermission("u", "/", { configure: "mine", write: "^mine$", read: ".*" });
    expect(allowed(users, "configure", "not-mine-either")).toBe(true);
    expect(allowed(users, "write", "not-mine")).toBe(false);
    expect(allowed(users, "write", "mine")).toBe(true);
  });

  test("an empty pattern means '^$': it matches only the empty name", () => {
    const users = new Users();
    users.add("u", "pw");
    users.setPermission("u", "/", { configure: "", write: "", read: "" });
    expect(allowed(users, "read", "q")).toBe(false);
    expect(allowed(users, "read", "")).toBe(true);
  });

  test("an invalid pattern is refused and leaves the old permission in place", () => {
    const users = new Users();
    users.add("u", "pw");
    users.setPermission("u", "/", { configure: ".*", write: ".*", read: ".*" });
    expect(() => users.setPermission("u", "/", { configure: "[", write: "", read: "" })).toThrow("invalid regular expression '['");
    expect(users.permission("u", "/")?.configure).toBe(".*");
  });

  test("PCRE-only anchors and POSIX classes, which JavaScript would read as literals, are refused", () => {
    const users = new Users();
    for (const pattern of ["\\Aq", "q\\Z", "[[:alpha:]]"]) {
      expect(() => users.setPermission("u", "/", { configure: pattern, write: "", read: "" })).toThrow("PCRE-only syntax");
    }
    users.setPermission("u", "/", { configure: "\\\\A", write: "", read: "" }); // an escaped backslash, then A
    expect(users.permission("u", "/")!.test.configure.test("\\A")).toBe(true);
  });

  test("every change bumps the version channels compare their cached verdicts with", () => {
    const users = new Users();
    users.add("u", "pw");
    const before = users.version;
    users.setPermission("u", "/", { configure: ".*", write: ".*", read: ".*" });
    const afterSet = users.version;
    users.clearPermission("u", "/");
    expect(afterSet).toBeGreaterThan(before);
    expect(users.version).toBeGreaterThan(afterSet);
  });
});

describe("topic permissions", () => {
  test("no topic permission for an exchange allows every routing key", () => {
    const users = new Users();
    users.setTopicPermission("u", "/", { exchange: "other", write: "^$", read: "^$" });
    expect(users.topicAllowed("u", "/", "amq.topic", "write", "anything")).toBe(true);
    expect(users.topicAllowed("u", "/", "other", "write", "anything")).toBe(false);
  });

  test("{username} and {vhost} are expanded; other placeholders stay as written", () => {
    const users = new Users();
    users.setTopicPermission("alice", "v1", { exchange: "t", write: "^{username}\\.{vhost}\\.", read: "^{client_id}$" });
    expect(users.topicAllowed("alice", "v1", "t", "write", "alice.v1.x")).toBe(true);
    expect(users.topicAllowed("alice", "v1", "t", "write", "bob.v1.x")).toBe(false);
    expect(users.topicAllowed("alice", "v1", "t", "read", "{client_id}")).toBe(true);
  });

  test("clearing without an exchange clears all of the user's topic permissions in the vhost", () => {
    const users = new Users();
    users.setTopicPermission("u", "/", { exchange: "a", write: "^$", read: "^$" });
    users.setTopicPermission("u", "/", { exchange: "b", write: "^$", read: "^$" });
    users.setTopicPermission("u", "v", { exchange: "a", write: "^$", read: "^$" });
    users.clearTopicPermission("u", "/");
    expect(users.listTopicPermissions().map((p) => `${p.vhost} ${p.exchange}`)).toEqual(["v a"]);
  });
});
