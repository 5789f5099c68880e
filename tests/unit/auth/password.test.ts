// RabbitMQ's salted password hashes: base64(salt(4) ++ H(salt ++ password)).
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { checkPassword, type HashingAlgorithm, hashPassword } from "../../../src/auth/password.ts";

const ALGORITHMS: [HashingAlgorithm, string, number][] = [
  ["rabbit_password_hashing_sha256", "sha256", 32],
  ["rabbit_password_hashing_sha512", "sha512", 64],
  ["rabbit_password_hashing_md5", "md5", 16],
];

describe("password hashes", () => {
  test("a hash taken from RabbitMQ 3.10.8 (GET /api/users) checks against its password only", () => {
    const hash = "KhJkcuwrArxPEQjRjlLHgzxH+YFqUWj4aSVQy4P9liIewo+s"; // password "s3cret"
    expect(checkPassword("s3cret", hash, "rabbit_password_hashing_sha256")).toBe(true);
    expect(checkPassword("s3cret ", hash, "rabbit_password_hashing_sha256")).toBe(false);
    expect(checkPassword("s3cret", hash, "rabbit_password_hashing_sha512")).toBe(false);
  });

  for (const [algorithm, digest, size] of ALGORITHMS) {
    test(`${algorithm}: 4 salt bytes then ${digest}(salt ++ utf8 password)`, () => {
      const hash = hashPassword("pässword", algorithm);
      const bytes = Buffer.from(hash, "base64");
      expect(bytes.length).toBe(4 + size);
      const salt = bytes.subarray(0, 4);
      const expected = createHash(digest).update(salt).update(Buffer.from("pässword", "utf8")).digest();
      expect(bytes.subarray(4).equals(expected)).toBe(true);
      expect(checkPassword("pässword", hash, algorithm)).toBe(true);
      expect(checkPassword("password", hash, algorithm)).toBe(false);
    });
  }

  test("each hash gets a fresh salt", () => {
    expect(hashPassword("same")).not.toBe(hashPassword("same"));
  });

  test("an empty or truncated hash never matches", () => {
    expect(checkPassword("", "", "rabbit_password_hashing_sha256")).toBe(false);
    expect(checkPassword("x", "AAAA", "rabbit_password_hashing_sha256")).toBe(false);
  });
});
