// Segment files depend on positional writes: a body whose write failed half-way (ENOSPC) is
// written again at the same offset, over the partial bytes. Under O_APPEND Linux would put the
// retry after them and every later body of the segment would be read from the wrong place.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openFile } from "../../../src/runtime/fs.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-fs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a write at an offset inside the file overwrites there, it does not append", () => {
  const path = join(dir, "segment");
  const file = openFile(path, "write");
  file.writeAt(new TextEncoder().encode("aaaa"), 0);
  // A retried body: the first attempt left "aa" partial bytes at offset 4, the retry writes at 4.
  file.writeAt(new TextEncoder().encode("xx"), 4);
  file.writeAt(new TextEncoder().encode("bbbb"), 4);
  file.sync();
  file.close();
  expect(readFileSync(path, "utf8")).toBe("aaaabbbb");
  const reader = openFile(path, "read");
  expect(new TextDecoder().decode(reader.readAt(4, 4))).toBe("bbbb");
  reader.close();
});

test("opening for writing creates the file", () => {
  const path = join(dir, "new-segment");
  const file = openFile(path, "write");
  file.writeAt(new Uint8Array([1, 2, 3]), 0);
  file.close();
  expect([...readFileSync(path)]).toEqual([1, 2, 3]);
});
