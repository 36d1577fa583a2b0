// Runs a streaming model.onnx chunk by chunk with onnxruntime-node (used by check_export.py and
// evaluate.py when Python onnxruntime is not installed).
// Usage: node ort_stream.mjs MODEL.onnx META.json LIST.txt [offline]   (META.json: the model's metadata_props)
//   with "offline": MODEL is the offline export (audio_signal [1, 80, T], length) run on the whole input.
//   LIST.txt: lines "feats.bin T out.bin"; feats.bin = float32 [T, 80] time-major log-mel;
//   writes out.bin = float32 [Tout, vocab+1] log-probs (only the valid encoded_lengths frames).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(path.resolve(process.cwd(), 'package.json'));
let ort;
try { ort = require('onnxruntime-node'); } catch { ort = require(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../node_modules/onnxruntime-node')); }

const [modelPath, metaPath, listPath, mode] = process.argv.slice(2);
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const md = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
const W = +(md.window_size ?? 0), S = +md.chunk_shift, PRE = W - S;
const L = +md.cache_last_channel_dim1, M = +md.cache_last_channel_dim2, D = +md.cache_last_channel_dim3;
const K1 = +md.cache_last_time_dim3;
for (const line of fs.readFileSync(listPath, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const [featPath, tStr, outPath] = line.trim().split(/\s+/);
  const T = +tStr;
  const buf = fs.readFileSync(featPath);  // may be a view into Node's shared pool: copy exactly its bytes
  const feats = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  if (mode === 'offline') {
    const fm = new Float32Array(80 * T);
    for (let t = 0; t < T; t++) for (let f = 0; f < 80; f++) fm[f * T + t] = feats[t * 80 + f];
    const r = await session.run({ audio_signal: new ort.Tensor('float32', fm, [1, 80, T]),
      length: new ort.Tensor('int64', BigInt64Array.from([BigInt(T)]), [1]) });
    const n = Number(r.encoded_lengths.data[0]);
    fs.writeFileSync(outPath, Buffer.from(r.logprobs.data.slice(0, n * r.logprobs.dims[2]).buffer));
    continue;
  }
  let cacheCh = new ort.Tensor('float32', new Float32Array(L * M * D), [1, L, M, D]);
  let cacheT = new ort.Tensor('float32', new Float32Array(L * D * K1), [1, L, D, K1]);
  let cacheLen = new ort.Tensor('int64', BigInt64Array.from([0n]), [1]);
  const outs = [];
  for (let start = 0; start < T; start += S) {
    const win = new Float32Array(80 * W);  // feature-major [80, W]
    let valid = 0;
    for (let j = 0; j < W; j++) {
      const t = start - PRE + j;
      if (t >= T) continue;
      valid = j + 1;
      if (t < 0) continue;
      for (let f = 0; f < 80; f++) win[f * W + j] = feats[t * 80 + f];
    }
    const r = await session.run({
      audio_signal: new ort.Tensor('float32', win, [1, 80, W]),
      length: new ort.Tensor('int64', BigInt64Array.from([BigInt(valid)]), [1]),
      cache_last_channel: cacheCh, cache_last_time: cacheT, cache_last_channel_len: cacheLen,
    });
    const n = Number(r.encoded_lengths.data[0]);
    const V = r.logprobs.dims[2];
    outs.push(r.logprobs.data.slice(0, n * V));
    cacheCh = r.cache_last_channel_next; cacheT = r.cache_last_time_next; cacheLen = r.cache_last_channel_next_len;
  }
  const total = outs.reduce((a, b) => a + b.length, 0);
  const all = new Float32Array(total);
  let o = 0; for (const x of outs) { all.set(x, o); o += x.length; }
  fs.writeFileSync(outPath, Buffer.from(all.buffer));
}
