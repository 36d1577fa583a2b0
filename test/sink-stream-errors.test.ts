/**
 * WebSocketSink and RedisResultSink (issue #19): a throw while one stream's item is sent or written is
 * that stream's error (an error message to its client, an error record for its session, an error item
 * for the runner), never an uncaught exception or the end of the worker; the other streams go on.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { from, lastValueFrom, toArray } from 'rxjs';
import { collectResults, redisResultSink } from '../operators/redis/index.js';
import { webSocketSink } from '../operators/websocket/index.js';
import { registerServer, unregisterServer } from '../operators/websocket/registry.js';
import type { LiveServer } from '../operators/websocket/server.js';
import { punct, type StreamItem, type TranscriptItem } from '../toolkit/items.js';
import { type LocalRedis } from '../support/redis-local.js';
import { startRedisOrSkip } from './helpers/redis-server.js';

const silent = { info: () => undefined, warn: () => undefined, verbose: () => undefined };

const final = (streamId: string, text: string): TranscriptItem => ({
  kind: 'transcript', streamId, text, isFinal: true, confidence: 1, utteranceNumber: 0, startMs: 0, endMs: 900,
});

/** A final transcript whose text cannot be read: building its record throws. */
function poisoned(streamId: string): TranscriptItem {
  const item = final(streamId, '');
  Object.defineProperty(item, 'text', { enumerable: true, get: () => { throw new Error('unreadable text'); } });
  return item;
}

describe('WebSocketSink: a throw for one stream is that stream\'s error (issue #19)', () => {
  it('the bad stream\'s client gets an error and its end; the healthy stream gets its final and end', async () => {
    const sent = new Map<string, Array<Record<string, unknown>>>();
    const ended: string[] = [];
    const fake = {
      deliver(streamId: string, message: Record<string, unknown>) {
        JSON.stringify(message);
        sent.set(streamId, [...(sent.get(streamId) ?? []), message]);
      },
      pipelineEnded(streamId: string) {
        ended.push(streamId);
      },
    } as unknown as LiveServer;
    registerServer('wsthrow', fake);
    let out: StreamItem[];
    try {
      out = await lastValueFrom(
        from<StreamItem[]>([final('good', 'hello'), poisoned('bad'), final('good', 'there'), punct('bad'), punct('good')]).pipe(
          webSocketSink({ server: 'wsthrow' }, { nodeId: 'ws-out', log: silent }),
          toArray(),
        ),
      );
    } finally {
      unregisterServer('wsthrow', fake);
    }
    expect(sent.get('good')!.map((m) => [m.type, m.text])).to.deep.equal([['final', 'hello'], ['final', 'there']]);
    expect(sent.get('bad')).to.deep.equal([{ type: 'error', streamId: 'bad', operator: 'ws-out', message: 'unreadable text' }]);
    expect(ended).to.deep.equal(['bad', 'good']);
    const errors = out.filter((i) => i.kind === 'error');
    expect(errors).to.deep.equal([{ kind: 'error', streamId: 'bad', operator: 'ws-out', message: 'unreadable text' }]);
    expect(out.filter((i) => i.kind === 'punct').map((i) => i.streamId)).to.deep.equal(['bad', 'good']);
  });
});

describe('RedisResultSink: a throw for one session is that session\'s error (issue #19, own redis-server)', function () {
  this.timeout(60000);
  let redis: LocalRedis | undefined;
  let client: Redis | undefined;

  before(async function () {
    ({ redis, client } = await startRedisOrSkip(this));
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('the bad session gets an error record and its end; the healthy session its final and end; the worker goes on', async () => {
    const prefix = 'sinkthrow';
    for (const id of ['good', 'bad']) await client!.hset(`${prefix}:owner:${id}`, 'consumer', 'me', 'entry', '0-1');
    const out = await lastValueFrom(
      from<StreamItem[]>([final('good', 'hello there'), poisoned('bad'), punct('bad'), punct('good')]).pipe(
        redisResultSink({ url: redis!.url, prefix, consumer: 'me' }, { nodeId: 'results', log: silent }),
        toArray(),
      ),
    );
    expect(out.filter((i) => i.kind === 'error')).to.deep.equal([{ kind: 'error', streamId: 'bad', operator: 'results', message: 'unreadable text' }]);
    const results = await collectResults(redis!.url, prefix, ['good', 'bad'], { timeoutMs: 5000 });
    expect(results.get('good')!.finals.map((f) => f.text)).to.deep.equal(['hello there']);
    expect(results.get('good')!.error).to.equal(undefined);
    expect(results.get('bad')!.finals).to.deep.equal([]);
    expect(results.get('bad')!.error).to.equal('unreadable text');
  });
});
