/**
 * WebSocketSource and WebSocketSink of one graph find each other by the `server` name param.
 * The source registers its running server here; sinks look it up per item.
 */
import type { LiveServer } from './server.js';

const servers = new Map<string, LiveServer>();
const waiters = new Map<string, Array<(server: LiveServer) => void>>();
const sinks = new Map<string, number>();

export function registerServer(name: string, server: LiveServer): void {
  if (servers.has(name)) throw new Error(`a WebSocket server named '${name}' is already running in this process (give each WebSocketSource its own 'server' name)`);
  servers.set(name, server);
  const waiting = waiters.get(name) ?? [];
  waiters.delete(name);
  for (const wake of waiting) wake(server);
}

export function unregisterServer(name: string, server: LiveServer): void {
  if (servers.get(name) === server) servers.delete(name);
}

export function getServer(name: string): LiveServer | undefined {
  return servers.get(name);
}

/** Resolves with the named server once it is listening (for tests and the serve command). */
export function waitForServer(name: string, timeoutMs = 10000): Promise<LiveServer> {
  const found = servers.get(name);
  if (found) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const list = waiters.get(name) ?? [];
      waiters.set(name, list.filter((w) => w !== wake));
      reject(new Error(`no WebSocket server '${name}' started within ${timeoutMs} ms`));
    }, timeoutMs);
    const wake = (server: LiveServer) => {
      clearTimeout(timer);
      resolve(server);
    };
    waiters.set(name, [...(waiters.get(name) ?? []), wake]);
  });
}

export function attachSink(name: string): () => void {
  sinks.set(name, (sinks.get(name) ?? 0) + 1);
  let attached = true;
  return () => {
    if (!attached) return;
    attached = false;
    const n = (sinks.get(name) ?? 1) - 1;
    if (n > 0) sinks.set(name, n);
    else sinks.delete(name);
  };
}

export function hasSink(name: string): boolean {
  return (sinks.get(name) ?? 0) > 0;
}
