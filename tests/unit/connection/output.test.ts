import { describe, expect, test } from "bun:test";
import { Output } from "../../../src/connection/output.ts";
import type { TcpSocket } from "../../../src/runtime/interfaces.ts";

/** A socket that takes `accept` bytes per write (all by default) and records them. */
function fakeSocket(accept = Infinity) {
  const written: number[] = [];
  const socket: TcpSocket = {
    remoteAddress: "127.0.0.1",
    remotePort: 1,
    localPort: 2,
    write(bytes) {
      const n = Math.min(bytes.length, accept);
      written.push(n);
      return n;
    },
    end() {},
    terminate() {},
    pause() {},
    resume() {},
  };
  return { socket, written };
}

describe("connection output", () => {
  test("a buffer grown by a large message is given back once it has been written", () => {
    const { socket, written } = fakeSocket();
    const output = new Output(socket);
    const initial = output.writer.bytes.length;
    output.writer.raw(new Uint8Array(4 * 1024 * 1024));
    expect(output.writer.bytes.length).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    output.flush();
    expect(written).toEqual([4 * 1024 * 1024]);
    expect(output.writer.bytes.length).toBe(initial);
    // And it still works afterwards.
    output.writer.raw(new Uint8Array([1, 2, 3]));
    output.flush();
    expect(written).toEqual([4 * 1024 * 1024, 3]);
  });

  test("a large buffer is kept while part of it waits for drain, and given back after", () => {
    const { socket, written } = fakeSocket(1024 * 1024);
    const output = new Output(socket);
    output.writer.raw(new Uint8Array(3 * 1024 * 1024).fill(7));
    output.flush();
    expect(output.blocked).toBe(true);
    expect(output.bufferedBytes).toBe(2 * 1024 * 1024);
    output.onDrain();
    expect(output.bufferedBytes).toBe(1024 * 1024);
    output.onDrain();
    expect(output.bufferedBytes).toBe(0);
    expect(output.blocked).toBe(false);
    expect(written).toEqual([1024 * 1024, 1024 * 1024, 1024 * 1024]);
    expect(output.writer.bytes.length).toBe(1024);
  });

  test("buffers up to 1 MiB are kept for reuse", () => {
    const { socket } = fakeSocket();
    const output = new Output(socket);
    output.writer.raw(new Uint8Array(600 * 1024));
    const grown = output.writer.bytes;
    output.flush();
    expect(output.writer.bytes).toBe(grown);
  });
});
