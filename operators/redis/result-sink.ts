/**
 * RedisResultSink: a worker's output. Writes each session's final transcripts (and partials, if asked)
 * to the results stream, de-duplicated by (session, utterance) so that a session replayed after a
 * failover shows each final once; stores the checkpoints that come out of the graph (read position +
 * every operator's state) for the session; and when a session ends, writes its end record, acknowledges
 * it in the consumer group and deletes its keys. Every write is fenced by the session's owner hash.
 * Passes every item through.
 */
import { Observable } from 'rxjs';
import type { Redis } from 'ioredis';
import type { StreamItem, TranscriptItem } from '../../toolkit/items.js';
import type { StageSpec } from '../../toolkit/operator.js';
import { catchForStream } from '../../toolkit/runtime/per-stream.js';
import { encodeCheckpoint } from '../../toolkit/runtime/snapshot.js';
import { transcriptObject } from '../sink/records.js';
import { consumerName, redisParamsSchema } from './audio-source.js';
import { connect, redisUrlProblem } from './connection.js';
import { RedisKeys } from './keys.js';
import { backoffMs, isOutOfMemory, isTransient, redisMemory } from './pressure.js';
import { completeSession, writeCheckpoint, writeResult } from './scripts.js';

export interface RedisResultSinkParams {
  url: string;
  prefix: string;
  group: string;
  consumer: string;
  partials: boolean;
  maxResultsLength: number;
}

export const RedisResultSink: StageSpec<RedisResultSinkParams> = {
  kind: 'RedisResultSink',
  role: 'stage',
  description:
    "Worker output on Redis Streams: each session's finals once (de-duplicated by session and utterance), its checkpoints, and its end (acknowledged in the group); passes every item through.",
  input: ['transcript'],
  output: 'transcript',
  params: {
    type: 'object',
    properties: {
      ...redisParamsSchema,
      partials: { type: 'boolean', default: false, description: 'Also write partial results (not de-duplicated: a replay may repeat some).' },
      maxResultsLength: { type: 'integer', minimum: 0, default: 100000, description: 'Trim the results stream to about this many entries (0: never).' },
    },
  },
  check: (p) => {
    const problem = redisUrlProblem(p.url);
    return problem ? [`url: ${problem}`] : [];
  },
  create: (p, ctx) => (source$) =>
    new Observable<StreamItem>((dest) => {
      const keys = new RedisKeys(p.prefix);
      const me = consumerName(p);
      const role = `${ctx.nodeId} (RedisResultSink)`;
      const client = connect(p.url, role);
      client.catch(() => {});
      let outstanding = Promise.resolve();
      const lost = new Set<string>();
      let broken = false;
      let warnedUnsupported = false;

      const where = `${p.url} ${p.prefix}`;
      let stopped = false;
      let waitingSince = 0;

      /**
       * Writes run one after another, in item order, each after the previous one succeeded, so no
       * checkpoint is ever stored past a lost result. A write Redis cannot take now (out of memory, a
       * restart, the connection down: pressure.ts) is retried until it can, holding the graph's flow
       * meanwhile, so the source reads no further; any other failure (or any failure once the worker is
       * stopping) stops the worker, and its sessions fail over to their last good checkpoint.
       */
      const write = (what: string, streamId: string, fn: (r: Redis) => Promise<unknown>) => {
        ctx.flow.hold();
        outstanding = outstanding
          .then(async () => {
            for (let attempt = 0; !broken && !stopped; attempt++) {
              let r: Redis;
              try {
                r = await client;
              } catch (e) {
                broken = true; // never connected: nothing to retry on
                dest.error(e);
                return;
              }
              try {
                const reply = await fn(r);
                redisMemory.room(where);
                if (waitingSince) {
                  ctx.log.info(`${ctx.nodeId}: Redis ${p.url} takes writes again (after ${Date.now() - waitingSince} ms)`);
                  waitingSince = 0;
                }
                if (reply === -1 && !lost.has(streamId)) {
                  lost.add(streamId);
                  ctx.log.warn(`${ctx.nodeId}: session '${streamId}' is owned by another worker now; its results from here are theirs`);
                }
                return;
              } catch (e) {
                // Stopping (SIGTERM) with Redis unable to take writes: give up rather than wait forever; the
                // sessions fail over to their last good checkpoint.
                if (!isTransient(e) || ctx.signal?.aborted) {
                  broken = true;
                  dest.error(new Error(`${role}: cannot write the ${what} of session '${streamId}': ${(e as Error).message}`));
                  return;
                }
                if (isOutOfMemory(e)) redisMemory.full(where);
                if (!waitingSince) {
                  waitingSince = Date.now();
                  ctx.log.warn(`${ctx.nodeId}: Redis ${p.url} cannot take the ${what} of session '${streamId}' now (${(e as Error).message.split('\n')[0]}); retrying until it can`);
                }
                await new Promise((r) => setTimeout(r, backoffMs(attempt)));
              }
            }
          })
          .finally(() => ctx.flow.release());
      };

      const resultFields = (t: TranscriptItem) => [
        'session', t.streamId, 'type', t.isFinal ? 'final' : 'partial', 'utterance', String(t.utteranceNumber), 'text', t.text, 'json', JSON.stringify(transcriptObject(t)),
      ];
      const trim = p.maxResultsLength > 0 ? (r: Redis) => r.xtrim(keys.results, 'MAXLEN', '~', p.maxResultsLength) : undefined;

      const handle = (item: StreamItem) => {
        const id = item.streamId;
        const fence = [keys.owner(id), keys.seen(id), keys.results];
        switch (item.kind) {
          case 'transcript': {
            if (!item.isFinal && !p.partials) return;
            // The record is built here, not in the write: a throw is this session's error, not the worker's.
            const args = [me, item.isFinal ? `u${item.utteranceNumber}` : '', ...resultFields(item)];
            write(item.isFinal ? 'final result' : 'partial result', id, (r) => writeResult(r, fence, args));
            return;
          }
          case 'error':
            write('error', id, (r) => writeResult(r, fence, [me, 'error', 'session', id, 'type', 'error', 'operator', item.operator, 'text', item.message]));
            return;
          case 'checkpoint': {
            if (item.unsupported?.length) {
              if (!warnedUnsupported) {
                warnedUnsupported = true;
                ctx.log.warn(`${ctx.nodeId}: ${item.unsupported.join(', ')} cannot snapshot its state: no checkpoints are stored (a failover replays sessions from their start)`);
              }
              return;
            }
            const encoded = encodeCheckpoint(item);
            write('checkpoint', id, (r) => writeCheckpoint(r, [keys.owner(id), keys.checkpoint(id)], [me, encoded]));
            return;
          }
          case 'punct':
            write('end', id, async (r) => {
              const reply = await completeSession(
                r,
                [keys.owner(id), keys.checkpoint(id), keys.seen(id), keys.audio(id), keys.sessions, keys.results],
                [me, p.group, 'session', id, 'type', 'end'],
              );
              if (trim) await trim(r);
              return reply;
            });
            return;
          default:
            return;
        }
      };

      const sub = source$.subscribe({
        next: (item) => {
          // A throw while handling one session's item is that session's error (an error record in the
          // results stream, an error item for the runner); the other sessions go on.
          const failure = catchForStream(item.streamId, ctx.nodeId, () => handle(item));
          if (failure) {
            handle(failure);
            dest.next(failure);
          }
          dest.next(item);
        },
        error: (e) => dest.error(e),
        complete: () => {
          void outstanding.then(async () => {
            try {
              (await client).disconnect();
            } catch (e) {
              dest.error(e);
              return;
            }
            dest.complete();
          });
        },
      });
      return () => {
        stopped = true;
        sub.unsubscribe();
        void outstanding.then(() => client.then((r) => r.disconnect(), () => {}));
      };
    }),
};
