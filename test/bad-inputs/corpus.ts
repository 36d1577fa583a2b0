/**
 * The bad-input corpus: a generator (no committed binaries) that writes bad and odd audio files,
 * bad graphs and bad model set-ups into a folder, each with what the toolkit must answer.
 *
 * File cases run through the whole file graph (graphs/onnx-stt.yaml); each expects either
 * - `error`: the stream's one error record, exactly `<path>: <reason>`, and nothing else for it; or
 * - `same`: a final transcript identical to the good clip's (the decoded samples are identical);
 * - `final`: no error and exactly one final transcript (the audio differs: µ-law, silence, ...).
 *
 * Graph cases expect `validate`/`run` to refuse the graph before anything runs, with these exact
 * `file:line:col: message` lines (a RegExp where the message lists something open-ended).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OPERATORS } from '../../operators/index.js';
import { makeWav, type WavSpec } from '../helpers/wav-writer.js';

export type FileExpect = { error: string } | { same: true; warning?: string } | { final: true; warning?: string };

export interface FileCase {
  name: string;
  /** The path as given to FileSource (streamId). */
  path: string;
  expect: FileExpect;
}

export interface GraphCase {
  name: string;
  /** The graph file. */
  path: string;
  /** The exact stderr lines of `validate` (strings) or patterns for them. */
  problems: Array<string | RegExp>;
}

export interface Corpus {
  dir: string;
  good: string;
  files: FileCase[];
  graphs: GraphCase[];
}

/** The clip's samples as 16-bit integers (the good file is re-written from these). */
function pcm16(samples: Float32Array): Int16Array {
  return Int16Array.from(samples, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));
}

const asFloat = (x: Int16Array) => Float32Array.from(x, (v) => v / 32768);

/** Writes a raw 16-bit WAV with whatever fields the case needs to lie about. */
function rawWav(opts: {
  tag?: number;
  channels?: number;
  rate?: number;
  bits?: number;
  blockAlign?: number;
  fmtSize?: number;
  data: Buffer;
  dataSize?: number;
  riffSize?: number;
  chunks?: Buffer[];
  noFmt?: boolean;
  noData?: boolean;
}): Buffer {
  const channels = opts.channels ?? 1;
  const bits = opts.bits ?? 16;
  const rate = opts.rate ?? 16000;
  const fmtBody = Buffer.alloc(Math.max(16, opts.fmtSize ?? 16));
  fmtBody.writeUInt16LE(opts.tag ?? 1, 0);
  fmtBody.writeUInt16LE(channels, 2);
  fmtBody.writeUInt32LE(rate, 4);
  const align = opts.blockAlign ?? (channels * Math.ceil(bits / 8));
  fmtBody.writeUInt32LE((rate * align) >>> 0, 8);
  fmtBody.writeUInt16LE(align & 0xffff, 12);
  fmtBody.writeUInt16LE(bits, 14);
  const fmtLen = opts.fmtSize ?? 16;
  const fmtHdr = Buffer.alloc(8);
  fmtHdr.write('fmt ', 0, 'latin1');
  fmtHdr.writeUInt32LE(fmtLen, 4);
  const fmt = Buffer.concat([fmtHdr, fmtBody.subarray(0, fmtLen)]);
  const dataHdr = Buffer.alloc(8);
  dataHdr.write('data', 0, 'latin1');
  dataHdr.writeUInt32LE((opts.dataSize ?? opts.data.length) >>> 0, 4);
  const parts = [Buffer.from('WAVE', 'latin1'), ...(opts.noFmt ? [] : [fmt]), ...(opts.chunks ?? []), ...(opts.noData ? [] : [dataHdr, opts.data])];
  const body = Buffer.concat(parts);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE((opts.riffSize ?? body.length) >>> 0, 4);
  return Buffer.concat([riff, body]);
}

function chunk(id: string, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.write(id, 0, 'latin1');
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body, body.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

function le16(x: Int16Array): Buffer {
  const b = Buffer.alloc(x.length * 2);
  x.forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b;
}

/**
 * Writes the corpus into `dir` from the good clip's samples (16 kHz mono). The graph cases need the
 * toolkit's fixture models (`fixtures`: folder of cache_aware.onnx, wav2vec2.onnx and tokens).
 */
export function writeCorpus(dir: string, clip: Float32Array, fixtures: string): Corpus {
  const audioDir = path.join(dir, 'audio');
  fs.mkdirSync(audioDir, { recursive: true });
  const files: FileCase[] = [];
  const p = (name: string) => path.join(audioDir, name);
  const add = (name: string, data: Buffer | string | null, expect: FileExpect) => {
    if (data !== null) fs.writeFileSync(p(name), data);
    files.push({ name, path: p(name), expect });
  };
  const err = (name: string, reason: string) => ({ error: `${p(name)}: ${reason}` });

  const x16 = pcm16(clip);
  const data16 = le16(x16);
  const base: WavSpec = { sampleRate: 16000, channels: [asFloat(x16)] };
  const good = p('00-good.wav');
  fs.writeFileSync(good, makeWav(base));
  const wav = (extra: Partial<WavSpec>) => makeWav({ ...base, ...extra });

  // --- Unusable files: exactly one error record each.
  add('empty.wav', Buffer.alloc(0), err('empty.wav', 'empty file (0 bytes)'));
  add('riff-only.wav', wav({}).subarray(0, 12), err('riff-only.wav', 'header only (no fmt or data chunk)'));
  add('header-only.wav', wav({}).subarray(0, 44), err('header-only.wav', `data chunk is empty (declares ${data16.length} bytes, 0 present)`));
  add('streaming-header-only.wav', rawWav({ data: Buffer.alloc(0), dataSize: 0xffffffff, riffSize: 0xffffffff }), err('streaming-header-only.wav', 'data chunk is empty (declares streaming bytes, 0 present)'));
  add('data-size-0.wav', rawWav({ data: Buffer.alloc(0) }), err('data-size-0.wav', 'no audio samples in data chunk'));
  add('ms-adpcm.wav', rawWav({ tag: 0x0002, bits: 4, blockAlign: 256, data: data16 }), err('ms-adpcm.wav', 'unsupported format tag 2 (Microsoft ADPCM)'));
  add('mp3-tag.wav', rawWav({ tag: 0x0055, bits: 0, blockAlign: 1, data: data16 }), err('mp3-tag.wav', 'unsupported format tag 85 (MP3)'));
  add('zero-channels.wav', rawWav({ channels: 0, blockAlign: 2, data: data16 }), err('zero-channels.wav', '0 channels'));
  add('zero-hz.wav', rawWav({ rate: 0, data: data16 }), err('zero-hz.wav', 'sample rate 0 Hz'));
  add('absurd-rate.wav', rawWav({ rate: 4000000000, data: data16 }), err('absurd-rate.wav', 'absurd sample rate 4000000000 Hz (expected 1000..768000)'));
  add('absurd-channels.wav', rawWav({ channels: 60000, data: data16 }), err('absurd-channels.wav', 'absurd channel count 60000 (at most 256)'));
  add('float16.wav', rawWav({ tag: 3, data: data16 }), err('float16.wav', 'unsupported 16 bits per sample for float'));
  add('pcm-0-bits.wav', rawWav({ bits: 0, blockAlign: 0, data: data16 }), err('pcm-0-bits.wav', 'unsupported 0 bits per sample for PCM'));
  add('mulaw-16bit.wav', rawWav({ tag: 7, data: data16 }), err('mulaw-16bit.wav', 'unsupported 16 bits per sample for mulaw'));
  const ext = Buffer.alloc(40);
  ext.writeUInt16LE(0xfffe, 0);
  ext.writeUInt16LE(1, 2);
  ext.writeUInt32LE(16000, 4);
  ext.writeUInt16LE(2, 12);
  ext.writeUInt16LE(16, 14);
  ext.writeUInt16LE(22, 16);
  Buffer.from('0100000000001000800000aa00389b72', 'hex').copy(ext, 24); // a GUID that is not KSDATAFORMAT_*
  add('extensible-bad-guid.wav', Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'), chunk('fmt ', ext), chunk('data', data16)]), err('extensible-bad-guid.wav', 'unsupported WAVE_FORMAT_EXTENSIBLE subformat 0100000000001000800000aa00389b72'));
  add('short-fmt.wav', rawWav({ fmtSize: 14, data: data16 }), err('short-fmt.wav', 'fmt chunk too short (14 bytes)'));
  add('no-fmt.wav', rawWav({ noFmt: true, data: data16 }), err('no-fmt.wav', 'data chunk comes before any fmt chunk'));
  add('no-fmt-list-only.wav', rawWav({ noFmt: true, noData: true, data: Buffer.alloc(0), chunks: [chunk('LIST', Buffer.from('INFOISFT'))] }), err('no-fmt-list-only.wav', 'no fmt chunk'));
  add('no-data.wav', rawWav({ noData: true, data: Buffer.alloc(0), chunks: [chunk('LIST', Buffer.from('INFO'))] }), err('no-data.wav', 'no data chunk'));
  const garbage = Buffer.concat([rawWav({ noData: true, data: Buffer.alloc(0) }), Buffer.from([0x01, 0x02, 0x03, 0x04, 0x10, 0, 0, 0])]);
  add('corrupt-chunk-id.wav', garbage, err('corrupt-chunk-id.wav', 'no data chunk (corrupt chunk header at byte 36)'));
  add('rifx.wav', Buffer.concat([Buffer.from('RIFX', 'latin1'), wav({}).subarray(4)]), err('rifx.wav', 'big-endian RIFX files are not supported'));
  add('text-renamed.wav', 'This is not audio. It is a note that someone renamed to .wav.\n', err('text-renamed.wav', 'not a RIFF/WAVE file'));
  add('json-renamed.wav', '{"transcript": "not audio"}\n', err('json-renamed.wav', 'not a RIFF/WAVE file (looks like text)'));
  // Formats are told by content, not by name: these are read as what they are, and hold no audio.
  add('flac-renamed.wav', Buffer.concat([Buffer.from('fLaC', 'latin1'), Buffer.alloc(60)]), err('flac-renamed.wav', 'no audio could be decoded: a corrupt, truncated or empty FLAC file'));
  add('ogg-renamed.wav', Buffer.concat([Buffer.from('OggS', 'latin1'), Buffer.alloc(60)]), err('ogg-renamed.wav', 'not a readable Ogg stream (no Opus, Vorbis, FLAC or Speex header in its first page)'));
  add('id3-mp3-renamed.wav', Buffer.concat([Buffer.from('ID3\x04\0\0\0\0\0\0', 'latin1'), Buffer.alloc(60)]), err('id3-mp3-renamed.wav', 'no audio could be decoded: a corrupt, truncated or empty MP3 file'));
  add('riff-avi.wav', Buffer.concat([Buffer.from('RIFF\x20\0\0\0AVI LIST', 'latin1'), Buffer.alloc(20)]), err('riff-avi.wav', 'not a RIFF/WAVE file'));

  // Not files at all.
  fs.mkdirSync(p('a-directory.wav'));
  add('a-directory.wav', null, err('a-directory.wav', 'no audio files (.wav, .wave, .flac, .ogg, .oga, .opus, .mp3, .m4a, .aac, .mp4, .webm, .mka, .aif, .aiff) in folder')); // a folder is expanded; this one holds no audio
  fs.symlinkSync(p('symlink-loop.wav'), p('symlink-loop.wav'));
  add('symlink-loop.wav', null, err('symlink-loop.wav', 'too many levels of symbolic links (a symlink loop?)'));
  fs.symlinkSync(p('nowhere-at-all.wav'), p('broken-symlink.wav'));
  add('broken-symlink.wav', null, err('broken-symlink.wav', 'broken symbolic link'));
  execFileSync('mkfifo', [p('fifo.wav')]);
  add('fifo.wav', null, err('fifo.wav', 'not a regular file (a FIFO)'));
  add('missing.wav', null, err('missing.wav', 'no such file'));
  // A character device would read forever (/dev/zero) or never (/dev/null): refused by its type.
  files.push({ name: 'dev-zero', path: '/dev/zero', expect: { error: '/dev/zero: not a regular file (a character device)' } });
  // 10001 chunks before the data: the header walk gives up (each chunk costs a read) instead of crawling on.
  {
    const junk = Buffer.concat(Array.from({ length: 10001 }, () => chunk('junk', Buffer.alloc(0))));
    add('ten-thousand-chunks.wav', rawWav({ data: data16.subarray(0, 3200), chunks: [junk] }), err('ten-thousand-chunks.wav', 'no data chunk in the first 10000 chunks'));
  }
  {
    const huge = rawWav({ data: data16 });
    huge.writeUInt32LE(0xfffffff0, 16); // the fmt chunk claims 4 GB
    add('fmt-size-huge.wav', huge, err('fmt-size-huge.wav', 'no data chunk'));
  }
  // Longer than the default maxDurationS (86400 s): 86401 s of 8-bit 1 kHz audio, sparse (no blocks written).
  {
    const hdr = rawWav({ rate: 1000, bits: 8, data: Buffer.alloc(0), dataSize: 86401000 });
    const fd = fs.openSync(p('over-max-duration.wav'), 'w');
    fs.writeSync(fd, hdr);
    fs.ftruncateSync(fd, hdr.length + 86401000);
    fs.closeSync(fd);
    add('over-max-duration.wav', null, err('over-max-duration.wav', 'duration 86401.0 s exceeds maxDurationS (86400 s)'));
  }

  // --- Odd but usable: the same samples, so exactly the good clip's transcript.
  add('riff-size-bigger.wav', wav({ riffSizeField: 0x7ffffff0 }), { same: true });
  add('riff-size-smaller.wav', wav({ riffSizeField: 20 }), { same: true });
  add('data-size-ffffffff.wav', wav({ dataSizeField: 0xffffffff, riffSizeField: 0xffffffff }), { same: true });
  {
    const odd = Buffer.concat([wav({}), Buffer.from([0x7f])]);
    odd.writeUInt32LE(data16.length + 1, 40);
    add('odd-byte-count.wav', odd, { same: true, warning: 'data chunk ends with a partial frame (1 bytes ignored)' });
  }
  add('trailing-odd-byte-no-size.wav', Buffer.concat([wav({}), Buffer.from([0x7f])]), { same: true });
  add('pcm24-packed.wav', wav({ bits: 24 }), { same: true });
  add('pcm32.wav', wav({ bits: 32 }), { same: true });
  add('float32.wav', wav({ encoding: 'float', bits: 32 }), { same: true });
  add('extensible-pcm16.wav', wav({ extensible: true }), { same: true });
  add('six-channels.wav', makeWav({ sampleRate: 16000, channels: Array.from({ length: 6 }, () => asFloat(x16)) }), { same: true });
  add('lying-block-align.wav', rawWav({ blockAlign: 7, data: data16 }), { same: true, warning: 'block align 7 does not match 1 channel(s) x 2 bytes; using 2' });
  add('odd-chunks-unpadded.wav', makeWav({ ...base, extraChunks: [['LIST', Buffer.from('abc')], ['junk', Buffer.alloc(5)]], noPad: true }), { same: true });
  // 12-bit samples in a 16-bit container (left-justified, low 4 bits zero): the 12-bit reading of the clip.
  {
    const x12 = Int16Array.from(x16, (v) => v & ~0xf);
    add('pcm12.wav', rawWav({ bits: 12, blockAlign: 2, data: le16(x12) }), { final: true });
  }

  // --- Usable, different audio: one final transcript, no error.
  add('truncated-data.wav', wav({ truncateDataTo: 20000 }), { final: true, warning: `data chunk truncated (declares ${data16.length} bytes, 20000 present); used what is there` });
  add('mulaw.wav', makeWav({ ...base, encoding: 'mulaw' }), { final: true });
  add('alaw.wav', makeWav({ ...base, encoding: 'alaw' }), { final: true });
  add('pcm8-8khz.wav', makeWav({ sampleRate: 8000, channels: [asFloat(x16).filter((_, i) => i % 2 === 0)], bits: 8 }), { final: true });
  {
    const y = asFloat(x16);
    for (let i = 1000; i < y.length; i += 997) y[i] = i % 3 === 0 ? NaN : i % 3 === 1 ? Infinity : -Infinity;
    const n = Math.ceil((y.length - 1000) / 997);
    add('float-nan-inf.wav', makeWav({ ...base, channels: [y], encoding: 'float' }), { final: true, warning: `replaced ${n} NaN/Inf sample(s) with 0` });
  }
  add('all-silence.wav', makeWav({ sampleRate: 16000, channels: [new Float32Array(16000 * 2)] }), { final: true });
  add('ten-ms.wav', makeWav({ sampleRate: 16000, channels: [asFloat(x16.subarray(8000, 8160))] }), { final: true });
  add('one-sample.wav', makeWav({ sampleRate: 16000, channels: [new Float32Array([0.25])] }), { final: true });
  add('full-scale-square.wav', makeWav({ sampleRate: 16000, channels: [Float32Array.from({ length: 16000 }, (_, i) => ((i >> 4) & 1 ? 1 : -1))] }), { final: true });
  add('dc-offset.wav', makeWav({ sampleRate: 16000, channels: [Float32Array.from(asFloat(x16), (v) => Math.min(0.99, v + 0.6))] }), { final: true });

  return { dir, good, files, graphs: writeGraphCases(dir, fixtures, good) };
}

/** Graph and model cases: each is refused by the loader before anything runs. */
function writeGraphCases(dir: string, fixtures: string, good: string): GraphCase[] {
  const gdir = path.join(dir, 'graphs');
  fs.mkdirSync(gdir, { recursive: true });
  const graphs: GraphCase[] = [];
  const add = (name: string, text: string, problems: (file: string) => Array<string | RegExp>) => {
    const file = path.join(gdir, name);
    fs.writeFileSync(file, text);
    graphs.push({ name, path: file, problems: problems(file) });
  };
  const CACHE = path.join(fixtures, 'cache_aware.onnx');
  const TOKENS = path.join(fixtures, 'cache_aware.tokens.txt');
  const W2V = path.join(fixtures, 'wav2vec2.onnx');
  const chain = (mel: string, model: string, tokens: string) => `name: bad
nodes:
  - { id: src, kind: FileSource, params: { files: ${JSON.stringify(good)} } }
  - { id: chunk, kind: Chunker, params: { chunkMs: 160 } }
  - { id: mel, kind: MelExtractor, params: ${mel} }
  - { id: stt, kind: OnnxSTT, params: { model: ${JSON.stringify(model)} } }
  - { id: ctc, kind: CtcDecoder, params: { tokens: ${JSON.stringify(tokens)} } }
  - { id: out, kind: Sink, params: { format: jsonl } }
`;
  const OK = chain('{ preset: nemo-80 }', CACHE, TOKENS);
  const kinds = OPERATORS.map((o) => o.kind).join(', ');

  add('tabs.yaml', OK.replace('  - { id: chunk', '\t- { id: chunk'), (f) => [new RegExp(`^${esc(f)}:4:1: .*[Tt]ab`)]);
  add('duplicate-keys.yaml', OK.replace('name: bad\n', 'name: bad\nname: worse\n'), (f) => [`${f}:2:1: Map keys must be unique`]);
  {
    const bomb = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let i = 1; i < 9; i++) {
      const k = String.fromCharCode(97 + i);
      bomb.push(`${k}: &${k} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    }
    add('billion-laughs.yaml', `${bomb.join('\n')}\n${OK}`, (f) => [new RegExp(`^${esc(f)}:1:1: the document cannot be read: .*alias`, 'i')]);
  }
  add('wrong-types.yaml', OK.replace('chunkMs: 160', 'chunkMs: "fast"').replace('format: jsonl', 'format: [jsonl]'), (f) => [
    `${f}:4:43: chunk (Chunker): parameter 'chunkMs' must be number`,
    new RegExp(`^${esc(f)}:8:38: out \\(Sink\\): parameter 'format' must be one of "text", "jsonl", "csv"`),
  ]);
  add('huge-number.yaml', OK.replace('chunkMs: 160', 'chunkMs: 1e999'), (f) => [`${f}:4:52: 1e999 is not a finite number`]);
  add('infinite-and-nan.yaml', OK.replace('format: jsonl }', 'format: jsonl, fsync: .nan }').replace('kind: MelExtractor, params: { preset: nemo-80 }', 'kind: MelExtractor, params: { preset: nemo-80, fMax: .inf }'), (f) => [
    `${f}:5:69: .inf is not a finite number`,
    `${f}:8:60: .nan is not a finite number`,
  ]);
  add('nodes-not-a-list.yaml', 'name: bad\nnodes: 42\n', (f) => [`${f}:2:1: key 'nodes' must be array`]);
  add('unknown-operator.yaml', OK.replace('kind: Chunker', 'kind: Chunkr'), (f) => [`${f}:4:18: unknown operator kind 'Chunkr' (known: ${kinds})`]);
  add(
    'cycle.yaml',
    `name: bad
nodes:
  - { id: src, kind: FileSource, params: { files: ${JSON.stringify(good)} } }
  - { id: a, kind: Chunker, inputs: [b] }
  - { id: b, kind: Chunker, inputs: [a] }
  - { id: out, kind: Sink, inputs: [b] }
`,
    (f) => [`${f}:4:29: cycle: a -> b -> a`],
  );
  add('model-missing.yaml', chain('{ preset: nemo-80 }', path.join(gdir, 'no-such-model.onnx'), TOKENS), (f) => [
    `${f}:6:41: stt (OnnxSTT): parameter 'model': file not found: ${path.join(gdir, 'no-such-model.onnx')}`,
  ]);
  const notOnnx = path.join(gdir, 'model.onnx');
  fs.writeFileSync(notOnnx, 'This is where the model will go once it is trained.\n');
  add('model-not-onnx.yaml', chain('{ preset: nemo-80 }', notOnnx, TOKENS), (f) => [`${f}:6:31: stt (OnnxSTT): ${notOnnx}: cannot read ONNX model header: not an ONNX model (the file is text)`]);
  const lfs = path.join(gdir, 'lfs', 'model.onnx');
  fs.mkdirSync(path.dirname(lfs));
  fs.writeFileSync(lfs, 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n');
  add('model-lfs-pointer.yaml', chain('{ preset: nemo-80 }', lfs, TOKENS), (f) => [
    `${f}:6:31: stt (OnnxSTT): ${lfs}: cannot read ONNX model header: not an ONNX model (a Git LFS pointer: fetch the model itself with git lfs pull)`,
  ]);
  const empty = path.join(gdir, 'empty.onnx');
  fs.writeFileSync(empty, '');
  add('model-empty.yaml', chain('{ preset: nemo-80 }', empty, TOKENS), (f) => [`${f}:6:31: stt (OnnxSTT): ${empty}: cannot read ONNX model header: empty file (0 bytes)`]);
  const truncated = path.join(gdir, 'truncated.onnx');
  fs.writeFileSync(truncated, fs.readFileSync(CACHE).subarray(0, 5000));
  add('model-truncated.yaml', chain('{ preset: nemo-80 }', truncated, TOKENS), (f) => [new RegExp(`^${esc(f)}:6:31: stt \\(OnnxSTT\\): ${esc(truncated)}: cannot read ONNX model header: `)]);
  add('wrong-contract.yaml', chain('{ preset: nemo-80 }', W2V, path.join(fixtures, 'wav2vec2.vocab.json')), (f) => [
    `${f}:6:31: stt (OnnxSTT): ${W2V} is a wav2vec2 model that takes raw 16 kHz audio, but mel (MelExtractor) feeds it features: wire the audio (FileSource or Chunker) straight into it`,
  ]);
  add('feature-count.yaml', chain('{ preset: nemo-80, nMels: 64 }', CACHE, TOKENS), (f) => [
    `${f}:6:31: stt (OnnxSTT): mel (MelExtractor) makes 64 mel bins per frame but ${CACHE} expects 80; use a matching MelExtractor preset or nMels`,
  ]);
  const shortTokens = path.join(gdir, 'tokens-20.txt');
  fs.writeFileSync(shortTokens, Array.from({ length: 20 }, (_, i) => `${String.fromCharCode(97 + i)} ${i}`).join('\n') + '\n');
  add('tokens-vs-vocab.yaml', chain('{ preset: nemo-80 }', CACHE, shortTokens), (f) => [
    `${f}:7:34: ctc (CtcDecoder): the tokens file ${shortTokens} has 20 tokens but stt (OnnxSTT) emits 29 log-probs per frame; use the tokens file that belongs to the model`,
  ]);
  add(
    'model-takes-features-gets-audio.yaml',
    chain('{ preset: nemo-80 }', CACHE, TOKENS).replace(/ {2}- \{ id: mel, [^\n]*\n/, ''),
    (f) => [`${f}:5:31: stt (OnnxSTT): ${CACHE} takes 80 mel features per frame, but chunk (Chunker) feeds it audio: put a MelExtractor before it`],
  );
  return graphs;
}

export const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
