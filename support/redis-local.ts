/**
 * A private redis-server on a free loopback port (tests and bench:scale), and worker processes
 * (`streamsx-stt worker`) attached to it. Nothing here is used by the toolkit itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface LocalRedis {
  url: string;
  port: number;
  /** Where it keeps its files (the AOF, with `appendonly`). */
  dir: string;
  /** SIGKILL, files kept: start it again with the same port and dir to restart it. */
  kill(): Promise<void>;
  /** SIGKILL and remove its files. */
  stop(): Promise<void>;
}

/**
 * Starts redis-server on a free loopback port, or on `port` (a restart); resolves once it answers.
 * No persistence, unless `appendonly` (AOF, fsync on every write: what survives a SIGKILL) in `dir`.
 */
export async function startRedis(opts: { port?: number; dir?: string; appendonly?: boolean } = {}): Promise<LocalRedis> {
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'stt-redis-'));
  const persistence = opts.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}:\n${log}`)), 10000);
    const check = () => {
      if (/Ready to accept connections/.test(log)) {
        clearTimeout(t);
        resolve();
      } else if (proc.exitCode !== null) {
        clearTimeout(t);
        reject(new Error(`redis-server exited (${proc.exitCode}):\n${log}`));
      } else setTimeout(check, 20);
    };
    check();
  });
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
    }
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface WorkerProcess {
  consumer: string;
  proc: ChildProcess;
  /** stderr so far. */
  log(): string;
  exited: Promise<number | null>;
}

/** Starts `streamsx-stt worker` with graph params; resolves once it is ready for sessions. */
export async function startWorker(url: string, consumer: string, params: Record<string, string | number> = {}): Promise<WorkerProcess> {
  const args = [join(TOOLKIT_ROOT, 'dist/toolkit/cli/main.js'), 'worker', '--redis', url, '--param', `consumer=${consumer}`];
  for (const [k, v] of Object.entries(params)) args.push('--param', `${k}=${v}`);
  const proc = spawn(process.execPath, args, { cwd: TOOLKIT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`worker ${consumer} not ready after 60 s:\n${err}`)), 60000);
    const check = () => {
      if (err.includes('ready for sessions')) {
        clearTimeout(t);
        resolve();
      } else if (proc.exitCode !== null) {
        clearTimeout(t);
        reject(new Error(`worker ${consumer} exited (${proc.exitCode}):\n${err}`));
      } else setTimeout(check, 20);
    };
    check();
  });
  return { consumer, proc, log: () => err, exited };
}
