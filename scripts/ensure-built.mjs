#!/usr/bin/env node
/**
 * Builds dist/ with tsc only when a TypeScript source (or tsconfig.json / package.json) is newer than
 * the last successful build, so `npm start`, the samples and the benches start in about a second
 * when nothing changed instead of recompiling everything (15-20 s on a small machine) on every call.
 * Plain JavaScript on purpose: it must run before anything is compiled.
 *
 *   node scripts/ensure-built.mjs           build if stale (quiet when up to date)
 *   node scripts/ensure-built.mjs --force   build regardless
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Written after each successful build; its mtime is the build's time. */
const stamp = join(root, 'dist', '.build-stamp');
/** The folders tsconfig.json compiles. */
const SOURCE_DIRS = ['toolkit', 'operators', 'samples', 'test', 'bench', 'support'];

/** The newest mtime (ms) of the .ts files under `dir`. */
function newestTs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestTs(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function isStale() {
  if (!existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  const inputs = [join(root, 'tsconfig.json'), join(root, 'package.json')].map((f) => statSync(f).mtimeMs);
  const sources = SOURCE_DIRS.map((d) => join(root, d)).filter(existsSync).map(newestTs);
  return Math.max(...inputs, ...sources) > built;
}

if (process.argv.includes('--force') || isStale()) {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    console.error('streamsx-stt: dist/ is missing or out of date and TypeScript is not installed (run npm ci in the repository)');
    process.exit(2);
  }
  const startedAt = new Date();
  const result = spawnSync(process.execPath, [tsc, '-p', root], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  // The stamp takes the time the build started: a source saved during the build makes the next run build again.
  writeFileSync(stamp, `built ${startedAt.toISOString()} in ${Date.now() - startedAt.getTime()} ms\n`);
  utimesSync(stamp, startedAt, startedAt);
}
