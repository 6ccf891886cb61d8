// Backoff arithmetic: the consumer's failure backoff (go-nsq: multiplier × 2^level, capped; optional
// full jitter) and the reconnect delay schedule. Pure functions; callers own the timers.

export type BackoffStrategy = 'exponential' | 'full-jitter'

export interface BackoffOptions {
  /** Base of the exponential (go-nsq backoff_multiplier). */
  backoffMultiplierMs: number
  /** Cap; 0 disables backoff entirely. */
  maxBackoffMs: number
  backoffStrategy: BackoffStrategy
}

/** Duration for a backoff level (level ≥ 1). */
export function backoffDurationMs (level: number, o: BackoffOptions, random: () => number = Math.random): number {
  const full = Math.min(o.maxBackoffMs, o.backoffMultiplierMs * 2 ** level)
  if (o.backoffStrategy === 'full-jitter') return Math.floor(random() * full)
  return full
}

/** The next level after a failure: it only rises while its duration stays within the cap. */
export function nextBackoffLevel (level: number, o: BackoffOptions): number {
  if (o.maxBackoffMs <= 0) return 0
  return o.backoffMultiplierMs * 2 ** (level + 1) <= o.maxBackoffMs ? level + 1 : Math.max(level, 1)
}

/** Reconnect delay after `failures` consecutive failures: min × 2^(failures-1), capped, ±20 % jitter. */
export function reconnectDelayMs (failures: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, failures - 1))
  return Math.max(1, Math.round(base * (0.8 + 0.4 * random())))
}
