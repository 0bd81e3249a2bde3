/** Runs a preparation generator to its end at once. */
export function runSteps<T>(steps: Generator<void, T>): T {
  for (let step = steps.next(); ; step = steps.next()) if (step.done) return step.value;
}

/**
 * The same, one step per turn of the event loop: each step is a few milliseconds, so checks keep being
 * answered by the active set while the next one is prepared.
 */
export async function runStepsAsync<T>(steps: Generator<void, T>): Promise<T> {
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
