/**
 * The HTTP + WebSocket server behind WebSocketSource: one session per connection, one stream per
 * session, limits enforced per session, the caption page served at `/`.
 *
 * Each session's blocks wait in its own queue, emitted round-robin while the graph's flow control is
 * below its high-water mark. A session with more than `maxBacklogSeconds` queued either stops being
 * read until its queue is half drained (overflow 'pause', the default: TCP pushes back on the client and
 * nothing is lost) or, if it asked for overflow 'drop' (a real-time source that cannot wait), loses its
 * oldest queued audio and is told at once with a `dropped` message.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { errorItem, punct, type StreamItem } from '../../toolkit/items.js';
import type { OperatorContext } from '../../toolkit/operator.js';
import { resolveAsset } from '../../toolkit/paths.js';
import { PcmStream } from '../stdin-source/pcm.js';
import { CLOSE, ProtocolViolation, parseStart, type Overflow } from './protocol.js';
import { hasSink, registerServer, unregisterServer } from './registry.js';
import { hostAllowed, requestTarget } from './request-guard.js';

export interface LiveServerParams {
  server: string;
  host: string;
  port: number;
  path: string;
  webRoot: string;
  maxSessions: number;
  maxFrameBytes: number;
  maxSessionSeconds: number;
  idleTimeoutSeconds: number;
  maxBacklogSeconds: number;
  allowedOrigins: string[];
  allowedHosts: string[];
  token: string;
  blockMs: number;
  outputRate: number;
  shutdownGraceSeconds: number;
  maxSendBufferBytes: number;
  maxPendingConnections: number;
}

type SessionState = 'waiting' | 'streaming' | 'finalising' | 'aborted' | 'done';

interface Session {
  id: string;
  ws: WebSocket;
  state: SessionState;
  openedAt: number;
  pcm?: PcmStream;
  inputRate: number;
  overflow: Overflow;
  /** Reading of the socket is paused (overflow 'pause', queue over the backlog limit). */
  paused: boolean;
  queue: StreamItem[];
  queuedSamples: number;
  emittedSamples: number;
  droppedSamples: number;
  /** Finals and words delivered (the end message's summary). */
  finals: number;
  words: number;
  /** Partial results not sent because the client was not reading (its send buffer was full). */
  droppedPartials: number;
  /** Close code and reason once the pipeline has finished this stream. */
  endCode: number;
  endReason: string;
  failed: boolean;
  idleTimer?: NodeJS.Timeout;
  lifeTimer?: NodeJS.Timeout;
}

export interface LiveServerStats {
  /** Open WebSocket connections. */
  connections: number;
  /** Streams the server still tracks (started and not yet ended in the pipeline). */
  streams: number;
  accepted: number;
  refused: number;
  completed: number;
  aborted: number;
  /** Audio dropped by overflow 'drop' (the oldest waiting audio), in samples at outputRate, all sessions. */
  droppedSamples: number;
  droppedBlocks: number;
  /** Times a session's socket was paused because its backlog was full (overflow 'pause'). */
  pauses: number;
  /** Partial results dropped because their client was not reading, all sessions. */
  droppedPartials: number;
  /** Sessions closed with 4007 because their client did not read even the final results. */
  slowClients: number;
  /** Connections refused because maxPendingConnections had not sent a complete request yet. */
  pendingRefused: number;
  queuedItems: number;
  /** Bytes written to sessions' sockets and not yet taken by the clients. */
  unsentBytes: number;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** How long a client may take to send its request headers. */
const HEADERS_TIMEOUT_MS = 10000;

const digest = (s: string) => createHash('sha256').update(s).digest();

export class LiveServer {
  readonly name: string;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Session>();
  /** Started streams by streamId, until the pipeline's punct for them reached the sink. */
  private readonly streams = new Map<string, Session>();
  private seq = 0;
  private cursor = 0;
  private pumping = false;
  private waitingForFlow = false;
  private stopping = false;
  private completed = false;
  private closed = false;
  private readonly counters = {
    accepted: 0,
    refused: 0,
    completed: 0,
    aborted: 0,
    droppedSamples: 0,
    droppedBlocks: 0,
    droppedPartials: 0,
    slowClients: 0,
    pendingRefused: 0,
    pauses: 0,
  };
  /** Connections that have not yet sent a complete request (slow-header clients hold these). */
  private readonly pending = new Set<Socket>();
  private readonly blockSamples: number;
  private readonly backlogSamples: number;
  private readonly tokenDigest: Buffer | null;
  private closeWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly params: LiveServerParams,
    private readonly ctx: OperatorContext,
    private readonly out: { next(item: StreamItem): void; complete(): void },
  ) {
    this.name = params.server;
    this.blockSamples = Math.max(1, Math.round((params.blockMs * params.outputRate) / 1000));
    this.backlogSamples = Math.round(params.maxBacklogSeconds * params.outputRate);
    this.tokenDigest = params.token ? digest(params.token) : null;
    // A client's request must never end the process: anything thrown while answering one is that request's 500.
    // Headers trickled in one byte at a time hold a socket: give up on them after 10 s, checked every 2 s
    // (Node's defaults are 60 s, checked every 30 s).
    this.http = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 2000 }, (req, res) => {
      this.pending.delete(req.socket);
      this.serveHttp(req, res).catch((e: unknown) => this.failedRequest(res, e));
    });
    this.http.on('connection', (socket: Socket) => this.admit(socket));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: params.maxFrameBytes, perMessageDeflate: false });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.pending.delete(req.socket);
      try {
        this.upgrade(req, socket, head);
      } catch (e) {
        this.ctx.log.warn(`${this.ctx.nodeId}: upgrade request failed: ${(e as Error).message}`);
        socket.destroy();
      }
    });
  }

  /** Starts listening and registers the server under its name. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(new Error(`${this.ctx.nodeId}: cannot listen on ${this.params.host}:${this.params.port}: ${e.message}`));
      this.http.once('error', onError);
      this.http.listen(this.params.port, this.params.host, () => {
        this.http.off('error', onError);
        try {
          registerServer(this.name, this);
        } catch (e) {
          this.http.close();
          reject(e);
          return;
        }
        const { host, port } = this.address();
        const shown = host.includes(':') ? `[${host}]` : host;
        this.ctx.log.info(`${this.ctx.nodeId}: listening on ws://${shown}:${port}${this.params.path}${this.params.webRoot ? ` (caption page: http://${shown}:${port}/)` : ''}`);
        resolve();
      });
    });
  }

  address(): { host: string; port: number } {
    const a = this.http.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  get url(): string {
    const { host, port } = this.address();
    return `ws://${host.includes(':') ? `[${host}]` : host}:${port}${this.params.path}`;
  }

  stats(): LiveServerStats {
    let queuedItems = 0;
    let unsentBytes = 0;
    for (const s of this.sockets) {
      queuedItems += s.queue.length;
      unsentBytes += s.ws.bufferedAmount;
    }
    for (const s of this.streams.values()) if (!this.sockets.has(s)) queuedItems += s.queue.length;
    return { connections: this.sockets.size, streams: this.streams.size, queuedItems, unsentBytes, ...this.counters };
  }

  /** Resolves once the server has closed (after shutdown and the last session). */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  // ---- sink side ----------------------------------------------------------------------------

  /** Sends a JSON message to the session of `streamId`, if it is still there to hear it. */
  deliver(streamId: string, message: Record<string, unknown>): void {
    const s = this.streams.get(streamId);
    if (!s || s.state === 'aborted' || s.state === 'done') return;
    if (message.type === 'error') s.failed = true;
    if (message.type === 'final') {
      s.finals++;
      s.words += Array.isArray(message.words) ? message.words.length : 0;
    }
    this.send(s, message);
  }

  /** The pipeline has ended `streamId` (its punct reached the sink): say end, close, free. */
  pipelineEnded(streamId: string): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    this.streams.delete(streamId);
    if (s.state !== 'aborted' && s.state !== 'done') {
      const code = s.failed && s.endCode === CLOSE.NORMAL ? CLOSE.INTERNAL : s.endCode;
      s.state = 'done';
      this.counters.completed++;
      this.send(s, {
        type: 'end',
        streamId: s.id,
        reason: s.endReason,
        audioMs: this.ms(s.emittedSamples + s.droppedSamples),
        droppedMs: this.ms(s.droppedSamples),
        finals: s.finals,
        words: s.words,
        droppedPartials: s.droppedPartials,
      });
      this.closeSocket(s, code, s.endReason);
    }
    this.checkIdle();
  }

  // ---- source side --------------------------------------------------------------------------

  /** Stops accepting sessions and finalises the open ones; the source completes once all are emitted. */
  shutdown(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.ctx.log.info(`${this.ctx.nodeId}: shutting down: finalising ${[...this.sockets].filter((s) => s.state === 'streaming').length} open session(s)`);
    this.http.close();
    this.http.closeIdleConnections();
    for (const s of [...this.sockets]) {
      if (s.state === 'waiting') {
        this.sendError(s, 'server shutting down');
        this.closeSocket(s, CLOSE.GOING_AWAY, 'server shutting down');
      } else if (s.state === 'streaming') {
        this.finalise(s, CLOSE.GOING_AWAY, 'server shutting down');
      }
    }
    this.pump();
  }

  /** After the source completed: wait for the pipeline to finish the sessions, then close everything. */
  async closeWhenDone(): Promise<void> {
    const graceMs = this.params.shutdownGraceSeconds * 1000;
    if (this.streams.size) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // Give close handshakes a moment, then cut whatever is left.
    const deadline = Date.now() + Math.min(2000, graceMs);
    while (this.sockets.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.destroy();
  }

  /** Closes everything at once (unsubscribe, errors). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopping = true;
    for (const s of this.sockets) {
      this.clearTimers(s);
      s.ws.terminate();
    }
    this.sockets.clear();
    this.streams.clear();
    this.wss.close();
    this.http.close();
    this.http.closeAllConnections();
    unregisterServer(this.name, this);
    const waiting = this.closeWaiters;
    this.closeWaiters = [];
    for (const wake of waiting) wake();
  }

  private checkIdle(): void {
    if (this.streams.size) return;
    const waiting = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiting) wake();
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  /** Refuses a new connection while maxPendingConnections others have not sent a complete request. */
  private admit(socket: Socket): void {
    if (this.pending.size >= this.params.maxPendingConnections) {
      this.counters.pendingRefused++;
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    socket.once('close', () => this.pending.delete(socket));
  }

  private failedRequest(res: ServerResponse, e: unknown): void {
    this.ctx.log.warn(`${this.ctx.nodeId}: HTTP request failed: ${(e as Error).message}`);
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end();
  }

  private async serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const url = requestTarget(req.url);
    if (!url) return reply(400, 'bad request target\n');
    if (!hostAllowed(req.headers.host, this.params.allowedHosts)) return reply(403, `host ${JSON.stringify(req.headers.host ?? '')} is not allowed (allowedHosts)\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    if (url.pathname === '/healthz') return reply(200, `${JSON.stringify({ ok: !this.stopping, ...this.stats() })}\n`, 'application/json');
    if (url.pathname === this.params.path) return reply(426, 'this path speaks WebSocket (see docs/live-input.md)\n');
    const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    if (!this.params.webRoot || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || !CONTENT_TYPES[extname(name)]) return reply(404, 'not found\n');
    try {
      const body = await readFile(join(resolveAsset(this.params.webRoot), name));
      reply(200, body, CONTENT_TYPES[extname(name)]);
    } catch {
      reply(404, 'not found\n');
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = requestTarget(req.url);
    if (!url) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (url.pathname !== this.params.path || this.stopping) {
      socket.end(`HTTP/1.1 ${this.stopping ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, url));
  }

  // ---- sessions -----------------------------------------------------------------------------

  /** The refusals happen after the handshake so that every client (browsers too) sees a close code and reason. */
  private refusal(req: IncomingMessage, url: URL): [number, string] | null {
    // Before the Origin check: that check trusts the Host header, which a DNS rebinding page controls.
    if (!hostAllowed(req.headers.host, this.params.allowedHosts)) return [CLOSE.FORBIDDEN_ORIGIN, `host ${JSON.stringify(req.headers.host ?? '')} is not allowed (allowedHosts)`];
    const origin = req.headers.origin;
    const allowed = this.params.allowedOrigins;
    if (origin !== undefined && !allowed.includes('*') && !allowed.includes(origin)) {
      let sameHost = false;
      try {
        sameHost = allowed.length === 0 && new URL(origin).host === req.headers.host;
      } catch {
        sameHost = false;
      }
      if (!sameHost) return [CLOSE.FORBIDDEN_ORIGIN, `origin ${origin} is not allowed`];
    }
    if (this.tokenDigest) {
      const header = req.headers.authorization;
      const given = header?.startsWith('Bearer ') ? header.slice(7).trim() : url.searchParams.get('token');
      if (!given || !timingSafeEqual(digest(given), this.tokenDigest)) return [CLOSE.UNAUTHORIZED, given ? 'wrong token' : 'a bearer token is required (Authorization: Bearer or ?token=)'];
    }
    if (this.sockets.size >= this.params.maxSessions) return [CLOSE.BUSY, `server busy: ${this.params.maxSessions} sessions already open (maxSessions)`];
    return null;
  }

  private accept(ws: WebSocket, req: IncomingMessage, url: URL): void {
    const refused = this.refusal(req, url);
    if (refused) {
      this.counters.refused++;
      ws.on('error', () => undefined);
      ws.send(JSON.stringify({ type: 'error', code: refused[0], message: refused[1] }));
      ws.close(refused[0], refused[1]);
      setTimeout(() => ws.terminate(), 2000).unref();
      return;
    }
    this.counters.accepted++;
    const s: Session = {
      id: `${this.name}-${++this.seq}`,
      ws,
      state: 'waiting',
      openedAt: Date.now(),
      inputRate: 0,
      overflow: 'pause',
      paused: false,
      queue: [],
      queuedSamples: 0,
      emittedSamples: 0,
      droppedSamples: 0,
      finals: 0,
      words: 0,
      droppedPartials: 0,
      endCode: CLOSE.NORMAL,
      endReason: 'end of stream',
      failed: false,
    };
    this.sockets.add(s);
    this.ctx.log.verbose(`${this.ctx.nodeId}: ${s.id} connected from ${req.socket.remoteAddress}`);
    this.armIdleTimer(s);
    s.lifeTimer = setTimeout(() => this.tooLong(s), this.params.maxSessionSeconds * 1000);
    ws.on('message', (data, isBinary) => this.onMessage(s, data, isBinary));
    ws.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.abort(s, CLOSE.TOO_BIG, `frame larger than maxFrameBytes (${this.params.maxFrameBytes})`, false);
      else this.abort(s, CLOSE.PROTOCOL, `WebSocket error: ${e.message}`, false);
    });
    ws.on('close', () => {
      this.clearTimers(s);
      this.sockets.delete(s);
      if (s.state === 'waiting' || s.state === 'streaming') this.abort(s, CLOSE.NORMAL, 'client disconnected', false);
      if (s.state === 'finalising') s.state = 'aborted'; // nobody to send the result to
      if (s.state === 'aborted' && !this.streams.has(s.id)) this.checkIdle();
      this.maybeComplete();
    });
  }

  private onMessage(s: Session, data: RawData, isBinary: boolean): void {
    if (s.state !== 'waiting' && s.state !== 'streaming') return; // after end: ignored
    s.idleTimer?.refresh();
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    try {
      if (isBinary) {
        if (s.state !== 'streaming') throw new ProtocolViolation(CLOSE.PROTOCOL, 'audio before the start message');
        this.audio(s, s.pcm!.push(bytes));
        if (s.pcm!.inputFrames > this.params.maxSessionSeconds * s.inputRate) this.tooLong(s);
        return;
      }
      let msg: unknown;
      try {
        msg = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new ProtocolViolation(CLOSE.PROTOCOL, 'text messages must be JSON');
      }
      if (!msg || typeof msg !== 'object' || Array.isArray(msg)) throw new ProtocolViolation(CLOSE.PROTOCOL, 'messages must be JSON objects with a "type"');
      const m = msg as Record<string, unknown>;
      if (m.type === 'start') {
        if (s.state !== 'waiting') throw new ProtocolViolation(CLOSE.PROTOCOL, 'start sent twice');
        const start = parseStart(m);
        s.inputRate = start.sampleRate;
        s.overflow = start.overflow;
        s.pcm = new PcmStream({
          encoding: start.encoding === 'pcm16le' ? 's16le' : 'f32le',
          sampleRate: start.sampleRate,
          channels: start.channels,
          outputRate: this.params.outputRate,
          blockSamples: this.blockSamples,
        });
        s.state = 'streaming';
        this.streams.set(s.id, s);
        this.send(s, {
          type: 'ready',
          streamId: s.id,
          sampleRate: this.params.outputRate,
          limits: {
            maxFrameBytes: this.params.maxFrameBytes,
            maxSessionSeconds: this.params.maxSessionSeconds,
            idleTimeoutSeconds: this.params.idleTimeoutSeconds,
            maxBacklogSeconds: this.params.maxBacklogSeconds,
          },
          overflow: s.overflow,
        });
      } else if (m.type === 'end') {
        if (s.state !== 'streaming') throw new ProtocolViolation(CLOSE.PROTOCOL, 'end before start');
        this.finalise(s, CLOSE.NORMAL, 'end of stream');
      } else {
        throw new ProtocolViolation(CLOSE.PROTOCOL, `unknown message type ${JSON.stringify(m.type)}`);
      }
    } catch (e) {
      if (e instanceof ProtocolViolation) this.abort(s, e.code, e.message);
      else this.abort(s, CLOSE.INTERNAL, (e as Error).message);
    }
  }

  private tooLong(s: Session): void {
    const reason = `session reached maxSessionSeconds (${this.params.maxSessionSeconds} s)`;
    if (s.state === 'streaming') this.finalise(s, CLOSE.TOO_LONG, reason);
    else if (s.state === 'waiting') this.abort(s, CLOSE.TOO_LONG, reason);
  }

  /** Queues the session's remaining audio and its punct; the sink closes it with `code` afterwards. */
  private finalise(s: Session, code: number, reason: string): void {
    if (s.state !== 'streaming') return;
    this.audio(s, s.pcm!.end());
    s.state = 'finalising';
    s.endCode = code;
    s.endReason = reason;
    this.clearTimers(s);
    s.queue.push(punct(s.id));
    this.pump();
  }

  /** Ends one session for a violation or a disconnect: its queued audio goes, the pipeline frees its state. */
  private abort(s: Session, code: number, reason: string, tell = true): void {
    if (s.state === 'aborted' || s.state === 'done') return;
    const started = s.state === 'streaming';
    const finalising = s.state === 'finalising';
    s.state = 'aborted';
    this.counters.aborted++;
    this.clearTimers(s);
    this.ctx.log.verbose(`${this.ctx.nodeId}: ${s.id} closed: ${reason} (${code})`);
    if (tell) this.sendError(s, reason, code);
    this.closeSocket(s, code, reason);
    if (started) {
      s.queue = s.queue.filter((item) => item.kind !== 'audio');
      s.queuedSamples = 0;
      s.queue.push(errorItem(s.id, this.ctx.nodeId, reason), punct(s.id));
      this.pump();
    } else if (!finalising) {
      this.streams.delete(s.id);
    }
    this.maybeComplete();
  }

  private audio(s: Session, blocks: Float32Array[]): void {
    for (const samples of blocks) {
      s.queue.push({ kind: 'audio', streamId: s.id, samples, sampleRate: this.params.outputRate, startSample: 0 });
      s.queuedSamples += samples.length;
    }
    if (blocks.length) this.pump();
    if (s.queuedSamples <= this.backlogSamples) return;
    if (s.overflow === 'pause') this.pauseReading(s);
    else this.dropOldest(s);
  }

  /** Overflow 'pause': stop reading the session's socket (TCP pushes back) until its queue has drained. */
  private pauseReading(s: Session): void {
    if (s.paused || s.state !== 'streaming') return;
    s.paused = true;
    this.counters.pauses++;
    // The client is not idle while we do not read it.
    clearTimeout(s.idleTimer);
    s.ws.pause();
  }

  /** Resumes a paused session once at most half its backlog limit is queued. */
  private resumeIfDrained(s: Session): void {
    if (!s.paused || s.queuedSamples > this.backlogSamples / 2) return;
    s.paused = false;
    if (s.state === 'streaming') this.armIdleTimer(s);
    s.ws.resume();
  }

  /** Overflow 'drop': the oldest queued audio beyond the limit goes, and the client hears of it now. */
  private dropOldest(s: Session): void {
    let n = 0;
    // Where the gap sits in the session's transcript time: the dropped audio was next in line.
    const atMs = this.ms(s.emittedSamples);
    while (s.queuedSamples > this.backlogSamples) {
      const at = s.queue.findIndex((item) => item.kind === 'audio');
      if (at < 0) break;
      const [dropped] = s.queue.splice(at, 1);
      const k = (dropped as { samples: Float32Array }).samples.length;
      s.queuedSamples -= k;
      n += k;
      this.counters.droppedBlocks++;
    }
    if (!n) return;
    s.droppedSamples += n;
    this.counters.droppedSamples += n;
    this.send(s, { type: 'dropped', streamId: s.id, droppedMs: this.ms(n), totalDroppedMs: this.ms(s.droppedSamples), atMs });
  }

  private ms(samples: number): number {
    return Math.round((samples * 1000) / this.params.outputRate);
  }

  private armIdleTimer(s: Session): void {
    clearTimeout(s.idleTimer);
    s.idleTimer = setTimeout(() => this.abort(s, CLOSE.IDLE, `no message for ${this.params.idleTimeoutSeconds} s (idleTimeoutSeconds)`), this.params.idleTimeoutSeconds * 1000);
  }

  /** Emits queued items round-robin across sessions while the graph has room. */
  pump(): void {
    if (this.pumping || this.completed) return;
    this.pumping = true;
    try {
      for (;;) {
        const flow = this.ctx.flow;
        if (flow.pending >= flow.highWater) {
          if (!this.waitingForFlow) {
            this.waitingForFlow = true;
            void flow.ready().then(() => {
              this.waitingForFlow = false;
              this.pump();
            });
          }
          break;
        }
        const s = this.nextWithItems();
        if (!s) break;
        const item = s.queue.shift()!;
        if (item.kind === 'audio') {
          s.queuedSamples -= item.samples.length;
          item.startSample = s.emittedSamples;
          s.emittedSamples += item.samples.length;
          this.resumeIfDrained(s);
        }
        this.out.next(item);
        if (item.kind === 'punct' && !hasSink(this.name)) this.pipelineEnded(item.streamId);
      }
    } finally {
      this.pumping = false;
    }
    this.maybeComplete();
  }

  private nextWithItems(): Session | undefined {
    const all = [...this.streams.values()];
    for (const s of this.sockets) if (!this.streams.has(s.id)) all.push(s);
    for (let k = 0; k < all.length; k++) {
      const s = all[(this.cursor + k) % all.length];
      if (s.queue.length) {
        this.cursor = (this.cursor + k + 1) % Math.max(1, all.length);
        return s;
      }
    }
    return undefined;
  }

  private maybeComplete(): void {
    if (!this.stopping || this.completed || this.pumping) return;
    for (const s of this.streams.values()) if (s.queue.length || s.state === 'streaming') return;
    for (const s of this.sockets) if (s.queue.length || s.state === 'streaming') return;
    this.completed = true;
    this.out.complete();
  }

  /**
   * Sends unless the client has stopped reading: with more than maxSendBufferBytes already unsent, a
   * partial is dropped (counted) and anything else (a final, an error, the end) closes the session
   * with 4007, so that memory held for one client stays bounded.
   */
  private send(s: Session, message: Record<string, unknown>): void {
    if (s.ws.readyState !== WebSocket.OPEN) return;
    const text = JSON.stringify(message);
    const unsent = s.ws.bufferedAmount;
    if (unsent > 0 && unsent + Buffer.byteLength(text) > this.params.maxSendBufferBytes) {
      if (message.type === 'partial') {
        s.droppedPartials++;
        this.counters.droppedPartials++;
      } else {
        this.slowClient(s, unsent);
      }
      return;
    }
    s.ws.send(text);
  }

  /** The client did not take even its final results: end the session and let its buffers go. */
  private slowClient(s: Session, unsent: number): void {
    this.counters.slowClients++;
    const reason = `client is not reading: ${unsent} bytes of results unsent (maxSendBufferBytes ${this.params.maxSendBufferBytes})`;
    if (s.state === 'waiting' || s.state === 'streaming') {
      this.abort(s, CLOSE.SLOW_CLIENT, reason, false);
      return;
    }
    if (s.state === 'finalising') s.state = 'aborted'; // the pipeline finishes the stream; nobody to send it to
    this.ctx.log.verbose(`${this.ctx.nodeId}: ${s.id} closed: ${reason} (${CLOSE.SLOW_CLIENT})`);
    this.closeSocket(s, CLOSE.SLOW_CLIENT, reason);
  }

  private sendError(s: Session, message: string, code?: number): void {
    this.send(s, code === undefined ? { type: 'error', streamId: s.id, message } : { type: 'error', streamId: s.id, code, message });
  }

  private closeSocket(s: Session, code: number, reason: string): void {
    if (s.paused) {
      // The closing handshake needs the client's close frame read.
      s.paused = false;
      s.ws.resume();
    }
    if (s.ws.readyState === WebSocket.OPEN || s.ws.readyState === WebSocket.CONNECTING) {
      // Close reasons are limited to 123 bytes.
      s.ws.close(code === CLOSE.TOO_BIG ? CLOSE.TOO_BIG : code, Buffer.from(reason).subarray(0, 123).toString('utf8').replace(/\uFFFD$/, ''));
      const ws = s.ws;
      setTimeout(() => ws.terminate(), 5000).unref();
    }
  }

  private clearTimers(s: Session): void {
    clearTimeout(s.idleTimer);
    clearTimeout(s.lifeTimer);
  }
}
