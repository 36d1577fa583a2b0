/**
 * A progress line on a terminal (stderr): files done, audio seconds transcribed, and speed as a
 * multiple of real time, redrawn in place a few times a second. It appears only once a run has taken
 * a moment (short runs stay quiet) and is cleared when the run ends. Transcript lines on the same
 * terminal clear it before they print (the Sink's terminal writer), and the next redraw brings it back.
 */
export interface ProgressSource {
  /** Files (streams) finished so far. */
  files(): number;
  /** Audio transcribed so far, in ms of stream time. */
  audioMs(): number;
}

export interface ProgressOptions {
  /** Redraw interval. */
  everyMs?: number;
  /** Nothing is shown before the run has taken this long. */
  afterMs?: number;
}

export function progressLine(out: NodeJS.WriteStream, source: ProgressSource, o: ProgressOptions = {}): () => void {
  const started = performance.now();
  const baseMs = source.audioMs();
  let shown = false;
  const draw = () => {
    const wallS = (performance.now() - started) / 1000;
    if (wallS * 1000 < (o.afterMs ?? 1000)) return;
    const audioS = (source.audioMs() - baseMs) / 1000;
    out.write(`\r\x1b[Kprogress: ${source.files()} file(s) done, ${audioS.toFixed(1)} s of audio, ${(audioS / wallS).toFixed(1)}x real time`);
    shown = true;
  };
  const timer = setInterval(draw, o.everyMs ?? 250);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (shown) out.write('\r\x1b[K');
  };
}
