// RabbitMQ-compatible password hashes: base64(salt(4) ++ hash(salt ++ utf8(password))), with
// rabbit_password_hashing_sha256 (default), _sha512 and _md5, so hashes exported from a
// RabbitMQ definitions file authenticate unchanged.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export type HashingAlgorithm =
  | "rabbit_password_hashing_sha256"
  | "rabbit_password_hashing_sha512"
  | "rabbit_password_hashing_md5";

export const DEFAULT_HASHING: HashingAlgorithm = "rabbit_password_hashing_sha256";

const DIGEST: Record<HashingAlgorithm, string> = {
  rabbit_password_hashing_sha256: "sha256",
  rabbit_password_hashing_sha512: "sha512",
  rabbit_password_hashing_md5: "md5",
};

export function isHashingAlgorithm(name: string): name is HashingAlgorithm {
  return Object.hasOwn(DIGEST, name);
}

export function hashPassword(password: string, algorithm: HashingAlgorithm = DEFAULT_HASHING): string {
  return saltedHash(randomBytes(4), password, algorithm).toString("base64");
}

export function checkPassword(password: string, storedHash: string, algorithm: HashingAlgorithm): boolean {
  const stored = Buffer.from(storedHash, "base64");
  if (stored.length <= 4) return false;
  const computed = saltedHash(stored.subarray(0, 4), password, algorithm);
  return computed.length === stored.length && timingSafeEqual(computed, stored);
}

function saltedHash(salt: Uint8Array, password: string, algorithm: HashingAlgorithm): Buffer {
  const digest = createHash(DIGEST[algorithm]).update(salt).update(password, "utf8").digest();
  return Buffer.concat([salt, digest]);
}
