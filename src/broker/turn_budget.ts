// Work one turn of the event loop may still do, refilled when the turn ends (a setImmediate, once
// the budget is first used): bulk work spread over turns lets other connections in between.
export class TurnBudget {
  private left: number;

  constructor(private readonly perTurn: number) {
    this.left = perTurn;
  }

  /** Takes one unit; false when this turn's are used up. */
  take(): boolean {
    if (this.left === 0) return false;
    if (this.left-- === this.perTurn) setImmediate(() => (this.left = this.perTurn));
    return true;
  }
}
