/**
 * WebSocketSource / WebSocketSink: a live transcription server. Each WebSocket connection is one
 * audio stream (streamId `<server>-<n>`); the sink sends that stream's partial and final transcripts
 * back on the same connection. The two find each other by their `server` name param.
 * Protocol, close codes and limits: docs/live-input.md.
 *
 * @example
 * ```ts
 * webSocketSource({ port: 8080 })
 *   .pipe(chunker({ chunkMs: 160 }), vadSegmenter(), melExtractor(), onnxStt({ model }), ctcDecoder({ tokens }), webSocketSink())
 *   .subscribe();
 * ```
 */
import { Observable } from 'rxjs';
import type { StreamItem } from '../../toolkit/items.js';
import { catchForStream } from '../../toolkit/runtime/per-stream.js';
import { sourceFactory, stageFactory, type SourceSpec, type StageSpec } from '../../toolkit/operator.js';
import { transcriptRecord } from './protocol.js';
import { attachSink, getServer } from './registry.js';
import { LiveServer, type LiveServerParams } from './server.js';

export { CLOSE } from './protocol.js';
export { getServer, waitForServer } from './registry.js';
export type { LiveServer, LiveServerStats } from './server.js';

export type WebSocketSourceParams = LiveServerParams;

export const WebSocketSource: SourceSpec<WebSocketSourceParams> = {
  kind: 'WebSocketSource',
  role: 'source',
  description:
    'Serves live transcription over WebSocket (and the caption page over HTTP): each connection is one audio stream; per-session limits; a full backlog pauses reading the socket (or, for sessions that ask, drops the oldest audio and says so).',
  output: 'audio',
  params: {
    type: 'object',
    properties: {
      server: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', default: 'ws', description: 'Name that pairs this source with its WebSocketSink(s); also the streamId prefix.' },
      host: { type: 'string', minLength: 1, default: '127.0.0.1', description: 'Interface to listen on (loopback by default; 0.0.0.0 or :: for all).' },
      port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080, description: 'TCP port (0 = any free port).' },
      path: { type: 'string', pattern: '^/', default: '/ws', description: 'URL path of the WebSocket endpoint.' },
      webRoot: { type: 'string', default: 'samples/web', description: "Folder served at '/' (the caption page); '' serves no page." },
      maxSessions: { type: 'integer', minimum: 1, default: 64, description: 'Open connections at most; one more is closed with 4429.' },
      maxFrameBytes: { type: 'integer', minimum: 64, default: 262144, description: 'Largest message accepted; a larger one closes its session with 1009.' },
      maxSessionSeconds: { type: 'number', exclusiveMinimum: 0, default: 3600, description: 'Wall-clock or audio length of a session; reaching it finalises the session and closes it with 4009.' },
      idleTimeoutSeconds: { type: 'number', exclusiveMinimum: 0, default: 30, description: 'A session with no message for this long is closed with 4008.' },
      maxBacklogSeconds: {
        type: 'number',
        exclusiveMinimum: 0,
        default: 10,
        description:
          "Audio a session may have waiting for the pipeline; beyond it the session's socket is not read until half has drained (overflow 'pause', the default), or its oldest audio is dropped with a 'dropped' message (overflow 'drop').",
      },
      allowedOrigins: {
        type: 'array',
        items: { type: 'string' },
        default: [],
        description: "Origin headers allowed (['*'] = any); empty = same host only. Clients that send no Origin (non-browsers) are allowed. Others: 4403.",
      },
      allowedHosts: {
        type: 'array',
        items: { type: 'string' },
        default: [],
        description:
          "Host header names served (['*'] = any); empty = localhost and IP literals only (the bound address, 127.0.0.1, [::1]), which stops DNS rebinding. Others: HTTP 403, WebSocket 4403.",
      },
      token: { type: 'string', default: '', description: "If set, clients must send 'Authorization: Bearer <token>' or '?token=<token>'; otherwise 4401." },
      blockMs: { type: 'number', exclusiveMinimum: 0, maximum: 10000, default: 100, description: 'Audio block size emitted into the graph.' },
      outputRate: { type: 'integer', minimum: 8000, maximum: 192000, default: 16000, description: 'Sample rate of the emitted audio; clients at other rates are resampled.' },
      shutdownGraceSeconds: { type: 'number', minimum: 0, default: 10, description: 'On shutdown, how long open sessions may take to receive their final results.' },
      maxSendBufferBytes: {
        type: 'integer',
        minimum: 1024,
        default: 1048576,
        description: 'Results a client may leave unread; beyond it partials are dropped (droppedPartials in end) and a final closes the session with 4007.',
      },
      maxPendingConnections: {
        type: 'integer',
        minimum: 1,
        default: 256,
        description: 'Connections that have not yet sent a complete request (slow headers); one more is closed at once.',
      },
    },
  },
  create: (params, ctx) =>
    new Observable<StreamItem>((dest) => {
      let done = false;
      const server = new LiveServer(params, ctx, {
        next: (item) => dest.next(item),
        complete: () => {
          done = true;
          dest.complete();
        },
      });
      const onAbort = () => server.shutdown();
      server.listen().then(
        () => {
          if (ctx.signal?.aborted) onAbort();
          else ctx.signal?.addEventListener('abort', onAbort, { once: true });
        },
        (e: unknown) => dest.error(e),
      );
      return () => {
        ctx.signal?.removeEventListener('abort', onAbort);
        if (done) void server.closeWhenDone();
        else server.destroy();
      };
    }),
};

export interface WebSocketSinkParams {
  server: string;
  partials: boolean;
}

export const WebSocketSink: StageSpec<WebSocketSinkParams> = {
  kind: 'WebSocketSink',
  role: 'stage',
  description:
    "Sends each stream's partial and final transcripts, errors and end back to its WebSocket session; passes every item through.",
  input: ['transcript'],
  output: 'transcript',
  params: {
    type: 'object',
    properties: {
      server: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$', default: 'ws', description: "The WebSocketSource's server name." },
      partials: { type: 'boolean', default: true, description: 'Send partial results (finals are always sent).' },
    },
  },
  create: (params, ctx) => (source$) =>
    new Observable<StreamItem>((dest) => {
      const detach = attachSink(params.server);
      const send = (item: StreamItem) => {
        const server = getServer(params.server);
        if (!server) return;
        if (item.kind === 'transcript') {
          if (item.isFinal || params.partials) server.deliver(item.streamId, { type: item.isFinal ? 'final' : 'partial', ...transcriptRecord(item) });
        } else if (item.kind === 'error') {
          server.deliver(item.streamId, { type: 'error', streamId: item.streamId, operator: item.operator, message: item.message });
        } else if (item.kind === 'punct') {
          server.pipelineEnded(item.streamId);
        }
      };
      const sub = source$.subscribe({
        next: (item) => {
          // A throw while sending one stream's item is that stream's error (its client is told, the
          // runner gets the error item); the other streams go on.
          const failure = catchForStream(item.streamId, ctx.nodeId, () => send(item));
          if (failure) {
            catchForStream(item.streamId, ctx.nodeId, () => send(failure));
            dest.next(failure);
            if (item.kind === 'punct') catchForStream(item.streamId, ctx.nodeId, () => send(item));
          }
          dest.next(item);
        },
        error: (e) => dest.error(e),
        complete: () => dest.complete(),
      });
      return () => {
        sub.unsubscribe();
        detach();
      };
    }),
};

export const webSocketSource = sourceFactory(WebSocketSource);
export const webSocketSink = stageFactory(WebSocketSink);
