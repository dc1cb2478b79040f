/**
 * Where an elevation's time goes: named phases measured with the monotonic clock
 * (process.hrtime), for the agent's own log line of the elevation ("elevation ended", on the
 * agent's stderr, which only root reads) and the elevation benchmark. Never sent to a client.
 */
export class PhaseClock {
  private readonly spent = new Map<string, number>();
  private last = process.hrtime.bigint();

  /** Books the time since the previous mark (or since the clock was made) to `phase`. */
  mark(phase: string): void {
    const now = process.hrtime.bigint();
    this.add(phase, now - this.last);
    this.last = now;
  }

  /** Runs `task` and books its own duration to `phase` (for work done concurrently with other phases). */
  async time<T>(phase: string, task: () => Promise<T>): Promise<T> {
    const t0 = process.hrtime.bigint();
    try {
      return await task();
    } finally {
      this.add(phase, process.hrtime.bigint() - t0);
    }
  }

  /** Restarts the running mark now (the time in between is not booked). */
  restart(): void {
    this.last = process.hrtime.bigint();
  }

  private add(phase: string, ns: bigint): void {
    this.spent.set(phase, (this.spent.get(phase) ?? 0) + Number(ns) / 1e6);
  }

  /** Milliseconds per phase, rounded to µs. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of this.spent) out[k] = Math.round(v * 1000) / 1000;
    return out;
  }
}
