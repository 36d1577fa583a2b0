/**
 * The live transcription protocol spoken by WebSocketSource / WebSocketSink (docs/live-input.md).
 *
 * client -> server: {"type":"start","sampleRate":16000,"encoding":"pcm16le"|"f32le"[,"channels":1][,"overflow":"pause"|"drop"]},
 *                   binary audio frames, {"type":"end"}
 * server -> client: {"type":"ready",...}, {"type":"partial"|"final",...transcript record},
 *                   {"type":"dropped",...} (overflow "drop", at each loss), {"type":"error","message",...},
 *                   {"type":"end",...}, then the close frame.
 */

/** Close codes; 4xxx are this protocol's own. Each closes one session only. */
export const CLOSE = {
  /** The session ended normally (after the client's end message). */
  NORMAL: 1000,
  /** The server is shutting down; the session was finalised first. */
  GOING_AWAY: 1001,
  /** A frame was larger than maxFrameBytes (set by the ws library, no reason text). */
  TOO_BIG: 1009,
  /** The pipeline failed for this stream (an error message was sent before). */
  INTERNAL: 1011,
  /** Malformed or out-of-order message (not JSON, unknown type, audio before start, start twice). */
  PROTOCOL: 4000,
  /** Unsupported audio format in the start message (encoding, sampleRate, channels). */
  UNSUPPORTED_AUDIO: 4001,
  /** The client did not read its results: more than maxSendBufferBytes unsent when a final was due. */
  SLOW_CLIENT: 4007,
  /** No message for idleTimeoutSeconds. */
  IDLE: 4008,
  /** The session reached maxSessionSeconds (wall clock or audio); it was finalised first. */
  TOO_LONG: 4009,
  /** Missing or wrong bearer token. */
  UNAUTHORIZED: 4401,
  /** The Origin header (or the Host header: DNS rebinding) is not allowed. */
  FORBIDDEN_ORIGIN: 4403,
  /** maxSessions sessions are already open. */
  BUSY: 4429,
} as const;

export type WireEncoding = 'pcm16le' | 'f32le';

/**
 * What happens when a session has more than maxBacklogSeconds of audio waiting for the pipeline:
 * 'pause' stops reading its socket until the backlog has drained (nothing is lost; a client sending
 * faster than real time is slowed down by TCP), 'drop' drops the oldest waiting audio and sends a
 * `dropped` message at once (a real-time source that cannot wait, e.g. a microphone).
 */
export type Overflow = 'pause' | 'drop';

export interface StartMessage {
  type: 'start';
  sampleRate: number;
  encoding: WireEncoding;
  channels?: number;
  overflow: Overflow;
}

/** The same record as the JSONL sink's (one definition, in the Sink). */
export { transcriptObject as transcriptRecord } from '../sink/records.js';

export class ProtocolViolation extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const MIN_RATE = 8000;
const MAX_RATE = 192000;

/** Parses and checks a start message; throws ProtocolViolation with the close code to use. */
export function parseStart(msg: Record<string, unknown>): StartMessage {
  const { sampleRate, encoding, channels, overflow } = msg;
  if (encoding !== 'pcm16le' && encoding !== 'f32le') {
    throw new ProtocolViolation(CLOSE.UNSUPPORTED_AUDIO, `unsupported encoding ${JSON.stringify(encoding)}: use "pcm16le" or "f32le"`);
  }
  if (typeof sampleRate !== 'number' || !Number.isInteger(sampleRate) || sampleRate < MIN_RATE || sampleRate > MAX_RATE) {
    throw new ProtocolViolation(CLOSE.UNSUPPORTED_AUDIO, `unsupported sampleRate ${JSON.stringify(sampleRate)}: an integer from ${MIN_RATE} to ${MAX_RATE} Hz (resampled to 16000)`);
  }
  if (channels !== undefined && (typeof channels !== 'number' || !Number.isInteger(channels) || channels < 1 || channels > 8)) {
    throw new ProtocolViolation(CLOSE.UNSUPPORTED_AUDIO, `unsupported channels ${JSON.stringify(channels)}: an integer from 1 to 8`);
  }
  if (overflow !== undefined && overflow !== 'pause' && overflow !== 'drop') {
    throw new ProtocolViolation(CLOSE.PROTOCOL, `unknown overflow ${JSON.stringify(overflow)}: use "pause" (default: nothing is lost) or "drop" (real-time: oldest audio dropped, with a dropped message)`);
  }
  return { type: 'start', sampleRate, encoding, channels: (channels as number | undefined) ?? 1, overflow: overflow ?? 'pause' };
}
