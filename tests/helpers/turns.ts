// Counting what the broker does within one turn of the event loop (a turn ends where a setImmediate
// chain ticks): background work spread over turns must not do more than its slice in any of them.

export class TurnCounter {
  /** Turns ticked since the counter started. */
  turns = 0;
  /** The most calls of note() seen within one turn. */
  mostInOneTurn = 0;
  private seenTurn = -1;
  private inTurn = 0;
  private ticking = true;

  constructor() {
    const tick = () => {
      this.turns++;
      if (this.ticking) setImmediate(tick);
    };
    setImmediate(tick);
  }

  /** One call of what is counted. */
  note(): void {
    if (this.seenTurn !== this.turns) [this.seenTurn, this.inTurn] = [this.turns, 0];
    this.mostInOneTurn = Math.max(this.mostInOneTurn, ++this.inTurn);
  }

  stop(): void {
    this.ticking = false;
  }
}
