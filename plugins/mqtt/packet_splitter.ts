// Cuts the byte stream into packets: a first byte, a remaining length (variable byte integer of
// at most 4 bytes), then that many bytes. Bytes of an unfinished packet are kept; a packet
// larger than the limit is refused as soon as its length is known, before its body arrives.
import { MqttError, Reason } from "./decode.ts";

export class PacketSplitter {
  private pending: Uint8Array | undefined;

  constructor(public maxPacketSize: number) {}

  /** Calls `onPacket` for each whole packet in what has arrived. */
  push(chunk: Uint8Array, onPacket: (first: number, body: Uint8Array) => void): void {
    let bytes = chunk;
    if (this.pending !== undefined) {
      const joined = new Uint8Array(this.pending.length + chunk.length);
      joined.set(this.pending);
      joined.set(chunk, this.pending.length);
      bytes = joined;
      this.pending = undefined;
    }
    let pos = 0;
    while (pos < bytes.length) {
      let length = 0;
      let at = pos + 1;
      let complete = false;
      for (let i = 0, shift = 1; i < 4 && at < bytes.length; i++, shift *= 128) {
        const b = bytes[at++]!;
        length += (b & 0x7f) * shift;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
        if (i === 3) throw new MqttError(Reason.malformed, "malformed packet: remaining length longer than 4 bytes");
      }
      if (!complete) break;
      const total = at - pos + length;
      if (total > this.maxPacketSize) {
        throw new MqttError(Reason.packetTooLarge, `packet of ${total} bytes is larger than the maximum packet size ${this.maxPacketSize}`);
      }
      if (at + length > bytes.length) break;
      const first = bytes[pos]!;
      pos = at + length;
      onPacket(first, bytes.subarray(at, pos));
    }
    if (pos < bytes.length) this.pending = bytes.slice(pos);
  }
}
