import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import { punct, type StreamItem, type TranscriptItem } from '../toolkit/items.js';
import { sink, sinkTo, type SinkParams } from '../operators/sink/index.js';
import { csvField } from '../operators/sink/records.js';

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sink-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const t = (streamId: string, text: string, isFinal: boolean, extra: Partial<TranscriptItem> = {}): TranscriptItem => ({
  kind: 'transcript',
  streamId,
  text,
  isFinal,
  confidence: 0.5,
  utteranceNumber: 0,
  startMs: 0,
  endMs: 1230,
  ...extra,
});

const items: StreamItem[] = [
  t('a.wav', 'hel', false),
  t('a.wav', 'hello, "world"', true, { words: [{ word: 'hello', startMs: 0, endMs: 500, confidence: 0.9 }] }),
  punct('a.wav'),
  { kind: 'error', streamId: 'b.wav', operator: 'FileSource', message: 'b.wav: no such file' },
  punct('b.wav'),
];

/** Runs the sink to a file; returns what it passed on and the file's text. */
async function toFile(params: Partial<SinkParams>, input = items, name = `out-${Math.random()}.txt`) {
  const file = path.join(dir, 'nested', 'deeper', name);
  const passed = await lastValueFrom(from(input).pipe(sink({ ...params, file }), toArray()));
  return { passed, text: fs.readFileSync(file, 'utf8'), file };
}

/** Captures what is written to stderr meanwhile. */
async function capturingStderr<T>(fn: () => Promise<T>): Promise<{ result: T; stderr: string }> {
  const orig = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { result: await fn(), stderr };
  } finally {
    process.stderr.write = orig;
  }
}

describe('Sink', () => {
  it('passes every item through unchanged, in order', async () => {
    const { passed } = await toFile({ format: 'jsonl' });
    expect(passed).to.deep.equal(items);
  });

  it('jsonl: every transcript (partials too by default), error records, words when present', async () => {
    const { text } = await toFile({ format: 'jsonl' });
    expect(text.split('\n')).to.deep.equal([
      '{"kind":"transcript","streamId":"a.wav","text":"hel","isFinal":false,"confidence":0.5,"utteranceNumber":0,"startMs":0,"endMs":1230}',
      '{"kind":"transcript","streamId":"a.wav","text":"hello, \\"world\\"","isFinal":true,"confidence":0.5,"utteranceNumber":0,"startMs":0,"endMs":1230,"words":[{"word":"hello","startMs":0,"endMs":500,"confidence":0.9}]}',
      '{"kind":"error","streamId":"b.wav","operator":"FileSource","message":"b.wav: no such file"}',
      '',
    ]);
    const finals = await toFile({ format: 'jsonl', finalsOnly: true });
    expect(finals.text.split('\n')).to.have.length(3);
  });

  it('csv: header line, RFC 4180 quoting, CRLF, error rows', async () => {
    const { text } = await toFile({ format: 'csv' });
    expect(text).to.equal(
      'kind,streamId,text,isFinal,confidence,utteranceNumber,startMs,endMs\r\n' +
        'transcript,a.wav,hel,false,0.5,0,0,1230\r\n' +
        'transcript,a.wav,"hello, ""world""",true,0.5,0,0,1230\r\n' +
        'error,b.wav,b.wav: no such file,,,,,\r\n',
    );
    expect(csvField('a\nb')).to.equal('"a\nb"');
    expect(csvField('plain')).to.equal('plain');
  });

  it('text: finals only by default; errors as "error: <file>: <message>" on stderr', async () => {
    const { result, stderr } = await capturingStderr(() => toFile({ format: 'text' }));
    expect(result.text).to.equal('a.wav [0.00-1.23]: hello, "world"\nerror: b.wav: no such file\n');
    expect(stderr).to.equal('error: b.wav: no such file\n');
    const other = await capturingStderr(() =>
      toFile({ format: 'text' }, [{ kind: 'error', streamId: 'c', operator: 'OnnxSTT', message: 'model failed' }]),
    );
    expect(other.stderr).to.equal('error: c: model failed\n');
    const partials = await capturingStderr(() => toFile({ format: 'text', finalsOnly: false }));
    expect(partials.result.text.split('\n')[0]).to.equal('a.wav [0.00-1.23] (partial): hel');
  });

  it('writes each record as it arrives (nothing waits for completion), and can append', async () => {
    const file = path.join(dir, 'live', 'out.jsonl');
    const input = new Subject<StreamItem>();
    const done = lastValueFrom(input.pipe(sink({ format: 'jsonl', file }), toArray()));
    input.next(t('a', 'one', true));
    expect(fs.readFileSync(file, 'utf8')).to.equal('{"kind":"transcript","streamId":"a","text":"one","isFinal":true,"confidence":0.5,"utteranceNumber":0,"startMs":0,"endMs":1230}\n');
    input.next(punct('a'));
    input.complete();
    await done;
    await lastValueFrom(from([t('b', 'two', true)]).pipe(sink({ format: 'jsonl', file, append: true }), toArray()));
    expect(fs.readFileSync(file, 'utf8').split('\n')).to.have.length(3);
  });

  it('summarises streams that reach it as audio (a copy graph)', async () => {
    const audio: StreamItem[] = [
      { kind: 'audio', streamId: 'x', samples: new Float32Array(1600), sampleRate: 16000, startSample: 0 },
      { kind: 'audio', streamId: 'x', samples: new Float32Array(800), sampleRate: 16000, startSample: 1600 },
      punct('x'),
    ];
    const { text } = await toFile({ format: 'jsonl' }, audio);
    expect(text).to.equal('{"kind":"end","streamId":"x","itemKind":"audio","items":2,"samples":2400,"durationMs":150}\n');
    const plain = await toFile({ format: 'text' }, audio);
    expect(plain.text).to.equal('x: end of stream, 2 audio item(s), 2400 samples, 0.15 s\n');
  });

  it('the callback form hands each record and its item to a function', async () => {
    const got: Array<[string, string | undefined]> = [];
    await lastValueFrom(from(items).pipe(sinkTo((record, item) => got.push([record, item?.kind]), { format: 'csv' }), toArray()));
    expect(got.map((g) => g[1])).to.deep.equal([undefined, 'transcript', 'transcript', 'error']);
    expect(got[0]![0]).to.match(/^kind,streamId/);
  });

  it('a file it cannot create is an error of the run, named', async () => {
    const blocker = path.join(dir, 'blocker');
    fs.writeFileSync(blocker, '');
    let err: Error | undefined;
    await lastValueFrom(from(items).pipe(sink({ format: 'jsonl', file: path.join(blocker, 'x.jsonl') }), toArray())).catch((e) => (err = e));
    expect(err?.message).to.match(/^Sink: cannot write .*blocker\/x\.jsonl: EEXIST|ENOTDIR/);
  });
});
