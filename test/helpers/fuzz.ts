/**
 * How much the fuzz tests run, and from which seed. A fixed seed by default:
 * each run of the suite tries the same inputs, so a busy machine cannot turn
 * up a different result, and a failure repeats as it is. The long run
 * (`npm run fuzz`) sets `FUZZ_SEED=random`, a seed from the clock, and more
 * runs; whichever seed, the tests print it, and `FUZZ_SEED=<it>` replays it.
 */
export const DEFAULT_SEED = 20_261_206
export const DEFAULT_RUNS = 20_000

export interface FuzzSettings {
  readonly runs: number
  readonly seed: number
}

export function fuzzSettings(env: NodeJS.ProcessEnv = process.env): FuzzSettings {
  const runs = env.FUZZ_RUNS === undefined ? DEFAULT_RUNS : Number(env.FUZZ_RUNS)
  const seed =
    env.FUZZ_SEED === undefined
      ? DEFAULT_SEED
      : env.FUZZ_SEED === 'random'
        ? Date.now() % 2 ** 31
        : Number(env.FUZZ_SEED)
  if (!Number.isSafeInteger(runs) || runs < 1)
    throw new Error(`FUZZ_RUNS=${env.FUZZ_RUNS}: a count`)
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED=${env.FUZZ_SEED}: a number or random`)
  return { runs, seed }
}
