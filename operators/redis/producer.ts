/**
 * The producer side: streams audio files into Redis as sessions (read, decoded and resampled to 16 kHz
 * by FileSource), and collects the sessions' results. What a telephony gateway or an upload service
 * would do with its own audio; `streamsx-stt produce` is its command-line form.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { mergeMap } from 'rxjs/operators';
import type { Redis } from 'ioredis';
import { fileSource } from '../file-source/index.js';
import { connect } from './connection.js';
import { bytesOf, fieldsOf, RedisKeys } from './keys.js';

export interface ProduceOptions {
  url: string;
  prefix: string;
  files: string[];
  /** Audio per entry. */
  blockMs?: number;
  /** 0: as fast as possible; 1: real time (a live call). */
  pace?: number;
  /** Files streamed at once. */
  concurrency?: number;
  /** Files that cannot be read: each reported here and the others produced; without it the call throws after producing the others. */
  onError?: (message: string) => void;
  /** Session ids, by file; default `<file name>-<random>`. */
  sessionId?: (file: string, index: number) => string;
}

export interface ProducedSession {
  session: string;
  file: string;
  samples: number;
}

/** Appends each file as a session (audio entries, announcement, end); returns the sessions in the order their audio started. */
export async function produceFiles(o: ProduceOptions): Promise<ProducedSession[]> {
  const keys = new RedisKeys(o.prefix);
  const redis = await connect(o.url, 'producer');
  const runId = randomBytes(3).toString('hex');
  const sessions = new Map<string, ProducedSession>();
  const name = (file: string) => {
    let s = sessions.get(file);
    if (!s) {
      const index = sessions.size;
      s = { session: o.sessionId?.(file, index) ?? `${basename(file).replace(/[^\w.-]+/g, '_')}-${runId}${index}`, file, samples: 0 };
      sessions.set(file, s);
    }
    return s;
  };
  try {
    const src = fileSource({ files: o.files, sampleRate: 16000, blockMs: o.blockMs ?? 100, pace: o.pace ?? 0, concurrency: o.concurrency ?? 1 });
    const announced = new Set<string>();
    const errors: string[] = [];
    await lastValueFrom(
      src.pipe(
        mergeMap(async (item) => {
          if (item.kind === 'error') {
            errors.push(item.message); // FileSource's messages name the file
            return;
          }
          if (item.kind !== 'audio' && item.kind !== 'punct') return;
          // A file that could not be read becomes no session (or, failing half-way, an ended one).
          if (item.kind === 'punct' && !sessions.has(item.streamId) && errors.some((e) => e.startsWith(item.streamId))) return;
          const s = name(item.streamId);
          if (item.kind === 'audio') {
            s.samples += item.samples.length;
            await redis.xadd(keys.audio(s.session), '*', 'start', item.startSample, 'rate', item.sampleRate, 'f32', bytesOf(item.samples));
          } else {
            await redis.xadd(keys.audio(s.session), '*', 'end', 1);
          }
          // Announced once its audio stream exists, so a worker never reads a missing stream.
          if (!announced.has(s.session)) {
            announced.add(s.session);
            await redis.xadd(keys.sessions, '*', 'session', s.session, 'sampleRate', 16000, 'file', basename(s.file));
          }
        }, 1),
      ),
      { defaultValue: undefined },
    );
    if (errors.length && !o.onError) throw new Error(errors.join('\n'));
    for (const e of errors) o.onError?.(e);
    return [...sessions.values()];
  } finally {
    redis.disconnect();
  }
}

export interface SessionResult {
  session: string;
  finals: Array<{ utterance: number; text: string; json: Record<string, unknown> }>;
  error?: string;
  /** Entries read for this session (finals, errors, end): a duplicate would show here. */
  entries: number;
  /** Its end record arrived: the session is done (it may have no finals: silence). */
  ended: boolean;
}

/**
 * Reads the results stream from `from` until every session in `sessions` has its end record (or the
 * timeout passes); returns what arrived per session.
 */
export async function collectResults(
  url: string,
  prefix: string,
  sessions: string[],
  o: { from?: string; timeoutMs?: number; onResult?: (session: string, type: string, text: string) => void } = {},
): Promise<Map<string, SessionResult>> {
  const keys = new RedisKeys(prefix);
  const redis: Redis = await connect(url, 'result reader');
  const want = new Set(sessions);
  const out = new Map<string, SessionResult>(sessions.map((s) => [s, { session: s, finals: [], entries: 0, ended: false }]));
  const ended = new Set<string>();
  const deadline = Date.now() + (o.timeoutMs ?? 600000);
  let offset = o.from ?? '0-0';
  try {
    while (ended.size < want.size && Date.now() < deadline) {
      const reply = (await redis.xreadBuffer('COUNT', 500, 'BLOCK', 500, 'STREAMS', keys.results, offset)) as Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;
      for (const [, entries] of reply ?? []) {
        for (const [id, flat] of entries) {
          offset = id.toString();
          const f = fieldsOf(flat);
          const session = f.get('session')?.toString() ?? '';
          const r = out.get(session);
          if (!r) continue;
          r.entries++;
          const type = f.get('type')?.toString() ?? '';
          const text = f.get('text')?.toString() ?? '';
          if (type === 'final') r.finals.push({ utterance: Number(f.get('utterance')?.toString()), text, json: JSON.parse(f.get('json')?.toString() ?? '{}') as Record<string, unknown> });
          else if (type === 'error') r.error = text;
          else if (type === 'end') {
            ended.add(session);
            r.ended = true;
          }
          o.onResult?.(session, type, text);
        }
      }
    }
    return out;
  } finally {
    redis.disconnect();
  }
}

/** The current last id of the results stream ('0-0' when empty): read results from here on. */
export async function resultsTail(url: string, prefix: string): Promise<string> {
  const redis = await connect(url, 'result reader');
  try {
    const last = (await redis.xrevrange(new RedisKeys(prefix).results, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    return last[0]?.[0] ?? '0-0';
  } finally {
    redis.disconnect();
  }
}
