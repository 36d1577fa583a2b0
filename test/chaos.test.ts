/**
 * The end-to-end chaos run (issue #16): bench:chaos --quick streams 20 live sessions while two workers
 * are SIGKILLed and Redis is SIGKILLed and restarted twice. Every session must be in its table either
 * transcribed exactly once (the single-process text) or ended with an error result; none missing, none
 * duplicated. Needs redis-server (.ci/run installs it); without it the test is skipped, and says so.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { redisServerAvailable } from '../support/redis-local.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';

describe('chaos: worker SIGKILLs and Redis restarts during 20 live sessions (bench:chaos --quick)', function () {
  this.timeout(240000);

  it('every session is transcribed exactly once or ends with an error result; none missing or duplicated', async function () {
    if (!redisServerAvailable()) {
      console.log('      redis-server is not installed (apt-get install redis-server): skipped');
      this.skip();
    }
    const run = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const p = spawn(process.execPath, [join(TOOLKIT_ROOT, 'dist/bench/chaos.js'), '--quick', '--sessions', '20'], { cwd: TOOLKIT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, out }));
    });
    expect(run.code, run.out).to.equal(0);
    const rows = run.out.split('\n').filter((l) => /^\| s\d\d \|/.test(l));
    expect(rows, run.out).to.have.length(20);
    for (const row of rows) expect(row, run.out).to.match(/^\| s\d\d \| \S+\.wav \| (transcribed exactly once \| 1 \| 0 \| 1|error result: .* \| [01] \| 1 \| 1) \|$/);
    const r = /^RESULT chaos sessions=20 transcribed_once=(\d+) error_results=(\d+) wrong_text=0 duplicated=0 missing=0 worker_kills=2 redis_restarts=2 resumed_from_checkpoint=\d+$/m.exec(run.out);
    expect(r, run.out).to.not.equal(null);
    expect(Number(r![1]) + Number(r![2])).to.equal(20);
  });
});
