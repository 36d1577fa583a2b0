/**
 * The live server under attack (issue #16): malformed request targets, DNS rebinding, clients that
 * never read their results, and clients that never finish their request headers. Each attack is made
 * while a healthy session streams beside it, which must get its final as if nothing happened.
 */
import { expect } from 'chai';
import { connect as tcpConnect, type Socket } from 'node:net';
import { CLOSE } from '../operators/websocket/index.js';
import { collect, connect, encodePcm, stream } from './helpers/ws-client.js';
import { expectedFinal, expectHealthy, healthy, startServer, stop, tone, waitUntil } from './helpers/live-harness.js';

const UPGRADE_HEADERS = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/** Sends raw bytes and returns what came back before the server closed the connection. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(got));
    socket.write(text);
    setTimeout(() => socket.destroy(), 3000).unref();
  });
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

describe('live server hardening (issue #16)', function () {
  this.timeout(30000);

  it('malformed request targets (plain and upgrade) get 400 and the server goes on: a healthy session gets its final', async () => {
    const h = await startServer();
    try {
      const port = portOf(h.url);
      const session = healthy(h.url, 1);
      const targets = ['//', '//[', '/\\', '//a:b@', '//a:b@/ws', '//[::1', 'http://[', '*'];
      for (const target of targets) {
        const plain = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
        expect(plain.split('\r\n')[0], `GET ${target}`).to.equal('HTTP/1.1 400 Bad Request');
        const upgrade = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${UPGRADE_HEADERS}\r\n`);
        expect(upgrade.split('\r\n')[0], `upgrade ${target}`).to.equal('HTTP/1.1 400 Bad Request');
      }
      expectHealthy(await session, 1);
      const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { ok: boolean; completed: number };
      expect(health).to.include({ ok: true, completed: 1 });
    } finally {
      await stop(h);
    }
  });

  it('DNS rebinding: a Host that is a name other than localhost is refused (HTTP 403, WebSocket 4403) unless allowedHosts lists it', async () => {
    const h = await startServer();
    const listed = await startServer({ allowedHosts: ['captions.example'] });
    try {
      const port = portOf(h.url);
      const rebound = `rebind.example:${port}`;
      const page = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: ${rebound}\r\nConnection: close\r\n\r\n`);
      expect(page.split('\r\n')[0]).to.equal('HTTP/1.1 403 Forbidden');
      expect(page).to.contain(`host "${rebound}" is not allowed (allowedHosts)\n`);
      // The rebinding page controls both headers, so the same-host Origin rule alone would let it in.
      const ws = await connect(h.url, { Host: rebound, Origin: `http://${rebound}` });
      const refused = await collect(ws);
      expect(refused.code).to.equal(CLOSE.FORBIDDEN_ORIGIN);
      expect(refused.reason).to.equal(`host "${rebound}" is not allowed (allowedHosts)`);
      // localhost, the bound address and [::1] are served; the same-host Origin rule still works behind it.
      expectHealthy(await healthy(h.url, 0.5, { Host: `localhost:${port}`, Origin: `http://localhost:${port}` }));
      expectHealthy(await healthy(h.url, 0.5, { Host: `127.0.0.1:${port}` }));
      expectHealthy(await healthy(h.url, 0.5, { Host: `[::1]:${port}` }));
      // A name listed in allowedHosts is served; others are not.
      const listedPort = portOf(listed.url);
      expectHealthy(await healthy(listed.url, 0.5, { Host: `captions.example:${listedPort}` }));
      expect((await collect(await connect(listed.url, { Host: `rebind.example:${listedPort}` }))).code).to.equal(CLOSE.FORBIDDEN_ORIGIN);
    } finally {
      await stop(h);
      await stop(listed);
    }
  });

  it('a client that stops reading: partials are dropped, memory stays bounded, a final that cannot be sent closes the session with 4007 and frees it', async () => {
    const maxSendBufferBytes = 65536;
    const partialPad = 100000;
    const h = await startServer({ maxSendBufferBytes }, { partialPad });
    let maxUnsent = 0;
    const sampler = setInterval(() => (maxUnsent = Math.max(maxUnsent, h.server.stats().unsentBytes)), 2);
    try {
      const session = healthy(h.url, 1);
      const ws = await connect(h.url);
      const done = collect(ws);
      const socket = (ws as unknown as { _socket: Socket })._socket;
      socket.pause(); // never reads: the kernel's buffers fill, then the server's
      ws.send(JSON.stringify({ type: 'start', sampleRate: 16000, encoding: 'pcm16le' }));
      const audio = encodePcm(tone(20), 'pcm16le');
      for (let at = 0; at < audio.length; at += 3200) ws.send(audio.subarray(at, at + 3200));
      await waitUntil(() => h.server.stats().droppedPartials > 0, 'partials to be dropped', 15000);
      ws.send(JSON.stringify({ type: 'end' }));
      await waitUntil(() => h.server.stats().slowClients === 1, 'the final to find the client not reading', 15000);
      socket.resume(); // reads what was sent before the close
      const r = await done;
      expect(r.code).to.equal(CLOSE.SLOW_CLIENT);
      expect(r.reason).to.match(/^client is not reading: \d+ bytes of results unsent \(maxSendBufferBytes 65536\)$/);
      expect(r.messages.some((m) => m.type === 'final')).to.equal(false);
      // What the server held for this client never exceeded the limit plus the one message that crossed it.
      expect(maxUnsent).to.be.at.most(maxSendBufferBytes + partialPad + 1000);
      expectHealthy(await session, 1);
      await waitUntil(() => h.server.stats().connections === 0 && h.server.stats().streams === 0 && h.live.open === 0, 'the session to be freed');
      expect(h.server.stats().unsentBytes).to.equal(0);
    } finally {
      clearInterval(sampler);
      await stop(h);
    }
  });

  it('a client that reads late loses partials, never its final: the end message counts the dropped partials', async () => {
    const h = await startServer({ maxSendBufferBytes: 65536 }, { partialPad: 100000 });
    try {
      const ws = await connect(h.url);
      const done = collect(ws);
      const socket = (ws as unknown as { _socket: Socket })._socket;
      socket.pause();
      ws.send(JSON.stringify({ type: 'start', sampleRate: 16000, encoding: 'pcm16le' }));
      const samples = tone(20);
      const audio = encodePcm(samples, 'pcm16le');
      for (let at = 0; at < audio.length; at += 3200) ws.send(audio.subarray(at, at + 3200));
      await waitUntil(() => h.server.stats().droppedPartials > 0 && h.server.stats().queuedItems === 0 && h.live.open === 1, 'partials to be dropped', 15000);
      socket.resume();
      await waitUntil(() => h.server.stats().unsentBytes === 0, 'the client to catch up', 15000);
      ws.send(JSON.stringify({ type: 'end' }));
      const r = await done;
      expect(r.code).to.equal(CLOSE.NORMAL);
      expect(r.messages.find((m) => m.type === 'final')!.text).to.equal(expectedFinal(samples, 'pcm16le'));
      const end = r.messages.at(-1)!;
      expect(end.type).to.equal('end');
      expect(end.droppedPartials as number).to.be.greaterThan(0);
      expect(end.droppedPartials).to.equal(h.server.stats().droppedPartials);
      expect(r.messages.filter((m) => m.type === 'partial').length + (end.droppedPartials as number)).to.equal(200);
    } finally {
      await stop(h);
    }
  });

  it('f32le samples are made finite and clipped to [-1, 1], as float WAVs are', async () => {
    const h = await startServer();
    try {
      const sent = tone(0.5);
      const clipped = sent.slice();
      for (let i = 100, k = 0; i < sent.length; i += 700, k++) {
        sent[i] = [NaN, Infinity, 1e30, -5][k % 4];
        clipped[i] = [0, 0, 1, -1][k % 4];
      }
      const r = await stream(h.url, sent, { encoding: 'f32le', frameBytes: 6400 });
      expect(r.code).to.equal(CLOSE.NORMAL);
      expect(r.messages.find((m) => m.type === 'final')!.text).to.equal(expectedFinal(clipped, 'f32le'));
    } finally {
      await stop(h);
    }
  });

  it('connections that never finish their headers are capped (maxPendingConnections); the server still serves once one goes', async () => {
    const h = await startServer({ maxPendingConnections: 3 });
    const slow: Socket[] = [];
    try {
      const port = portOf(h.url);
      for (let i = 0; i < 3; i++) {
        const s = tcpConnect(port, '127.0.0.1');
        s.on('error', () => undefined);
        await new Promise((r) => s.once('connect', r));
        s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // never finished
        slow.push(s);
      }
      await new Promise((r) => setTimeout(r, 50));
      const extra = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      expect(extra).to.equal(''); // closed at once, unanswered
      expect(h.server.stats().pendingRefused).to.equal(1);
      slow.shift()!.destroy();
      await new Promise((r) => setTimeout(r, 50));
      expectHealthy(await healthy(h.url, 0.5));
    } finally {
      for (const s of slow) s.destroy();
      await stop(h);
    }
  });
});
