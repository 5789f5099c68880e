// What partially received message bodies hold, per connection and per broker
// (src/connection/body_buffer.ts grows and releases them): each `step` of growth runs `onStep`,
// which for the broker's count is a memory alarm check.

/** Counts the bytes held in partially received bodies (capacity of their buffers). */
export class PartialBodies {
  /** Bytes held now. */
  bytes = 0;
  /** Largest `bytes` seen (for tests and diagnostics). */
  peak = 0;
  private sinceCheck = 0;

  /**
   * @param step growth (bytes) after which `onStep` runs, e.g. a memory alarm check.
   */
  constructor(private readonly onStep: () => void = () => {}, private readonly step = 16 * 1024 * 1024) {}

  add(n: number): void {
    this.bytes += n;
    if (this.bytes > this.peak) this.peak = this.bytes;
    this.sinceCheck += n;
    if (this.sinceCheck >= this.step) {
      this.sinceCheck = 0;
      this.onStep();
    }
  }

  remove(n: number): void {
    this.bytes -= n;
  }
}
