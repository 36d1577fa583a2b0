/**
 * Node exits, with status 0, once nothing is left to do, even while a promise is pending: a graph whose
 * operators all stopped without completing it would end the run as if it had succeeded. A run that
 * never settles is an error instead.
 */
export function untilSettled<T>(promise: Promise<T>, what: string): Promise<T> {
  let settled = false;
  const onBeforeExit = () => {
    if (settled) return;
    settled = true;
    process.stderr.write(`streamsx-stt: ${what} stopped before its graph completed (no operator had anything left to do)\n`);
    process.exitCode = 2;
  };
  process.once('beforeExit', onBeforeExit);
  return promise.finally(() => {
    settled = true;
    process.off('beforeExit', onBeforeExit);
  });
}
