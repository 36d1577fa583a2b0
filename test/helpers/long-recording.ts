/**
 * A long recording made in code from the shipped clips (samples/audio): the two clips, alternating,
 * separated by silences of 0.9 to 1.5 s (longer than VadSegmenter's 500 ms minSilence, so each clip is one
 * utterance), written once per process as a 16-bit WAV. Deterministic; no fixture file to keep.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOOLKIT_ROOT } from '../../toolkit/paths.js';
import { readWavMono } from './live.js';
import { makeWav } from './wav-writer.js';

const RATE = 16000;
const CLIPS = ['samples/audio/flite-slt-fox.wav', 'samples/audio/librivox-0880.wav'];

export interface LongRecording {
  path: string;
  /** The samples as the WAV holds them (16-bit values / 32768). */
  samples: Float32Array;
  durationMs: number;
  /** Clips placed (each one utterance). */
  clips: number;
}

const made = new Map<number, LongRecording>();

/** At least `minutes` of audio; the recording is built once per length and process. */
export function longRecording(minutes: number): LongRecording {
  const known = made.get(minutes);
  if (known) return known;
  const clips = CLIPS.map((c) => readWavMono(join(TOOLKIT_ROOT, c)));
  const parts: Float32Array[] = [new Float32Array(RATE / 2)];
  let total = parts[0].length;
  let n = 0;
  while (total < minutes * 60 * RATE) {
    const clip = clips[n % clips.length];
    const silence = new Float32Array(Math.round(RATE * (0.9 + 0.3 * (n % 3))));
    parts.push(clip, silence);
    total += clip.length + silence.length;
    n++;
  }
  const samples = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    samples.set(p, at);
    at += p.length;
  }
  const wav = makeWav({ sampleRate: RATE, channels: [samples] });
  const path = join(mkdtempSync(join(tmpdir(), 'long-recording-')), `long-${minutes}min.wav`);
  writeFileSync(path, wav);
  // What a reader of the file gets back (16-bit quantised).
  const rec = { path, samples: readWavMono(path), durationMs: (total * 1000) / RATE, clips: n };
  made.set(minutes, rec);
  return rec;
}
