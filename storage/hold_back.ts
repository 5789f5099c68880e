// When a commit holds back the rows of messages already delivered to a consumer (issue 22): a
// consumer that keeps up acks them within a commit or two, and a row acked before it is written
// is never written (nor deleted). A confirm behind a held row whose ack does not come in time
// waits one commit longer, so this pays only where commits are busy and the acks do come in time.
// docs/storage.md, "Holding back delivered rows".

/** New rows a commit must have before delivered ones are held (below: low rates, where latency counts). */
export const HOLD_MIN_ROWS = 64;
/** Held rows judged at a time. */
const JUDGED = 4096;
/** Past this share of held rows written anyway (their acks were late), holding stops for a while. */
const LATE_SHARE = 0.5;
const PAUSE_MS = 2000;

export class HoldBack {
  private held = 0;
  private late = 0;
  private pausedUntil = 0;

  /** Whether a commit of `rows` new rows holds the delivered ones back. */
  wanted(rows: number): boolean {
    if (rows < HOLD_MIN_ROWS) return false;
    if (this.pausedUntil === 0) return true;
    if (performance.now() < this.pausedUntil) return false;
    this.pausedUntil = 0;
    return true;
  }

  /**
   * A commit held `held` rows back and wrote `late` rows the commit before it had held. Returns
   * a line for the debug log when holding pauses.
   */
  record(held: number, late: number): string | undefined {
    this.held += held;
    this.late += late;
    if (this.held < JUDGED) return undefined;
    const judged = this.held;
    const written = this.late;
    this.held = 0;
    this.late = 0;
    if (written <= judged * LATE_SHARE) return undefined;
    this.pausedUntil = performance.now() + PAUSE_MS;
    return `Store: ${written} of ${judged} held rows were written anyway (acks came late); not holding rows for ${PAUSE_MS} ms`;
  }
}
