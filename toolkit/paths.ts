import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The toolkit's own folder (holding package.json), whether run from sources or from dist/. */
export const TOOLKIT_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

/**
 * Resolves an asset path (model, tokens, graph) against the working directory first, then against the
 * toolkit's folder, so shipped graphs find the bundled model wherever they are run from.
 */
export function resolveAsset(path: string): string {
  if (isAbsolute(path)) return path;
  const fromCwd = resolve(path);
  if (existsSync(fromCwd)) return fromCwd;
  const fromToolkit = join(TOOLKIT_ROOT, path);
  return existsSync(fromToolkit) ? fromToolkit : fromCwd;
}
