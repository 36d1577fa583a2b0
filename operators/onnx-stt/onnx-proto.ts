/**
 * A minimal protobuf reader for the top level of an ONNX `ModelProto`: enough to read `metadata_props`
 * (field 14, `StringStringEntryProto {key = 1; value = 2}`) plus a few header fields, without loading
 * the graph. onnxruntime-node 1.30 exposes input/output metadata but not the model's custom metadata,
 * so this is the one place that parses the file itself.
 *
 * The file is read through a small window; the graph (field 7, usually almost all of the file) is
 * skipped by seeking past it, so a 500 MB model costs a few reads.
 */
import { open, type FileHandle } from 'node:fs/promises';

export interface OnnxHeader {
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  opsetVersions: Array<{ domain: string; version: number }>;
  metadata: Record<string, string>;
}

class Reader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;

  constructor(private readonly fh: FileHandle, readonly size: number) {}

  private async ensure(n: number): Promise<void> {
    if (this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length) return;
    const want = Math.max(n, 64 * 1024);
    const len = Math.min(want, this.size - this.pos);
    if (len < n) throw new Error(`truncated protobuf at byte ${this.pos}`);
    const b = Buffer.alloc(len);
    await this.fh.read(b, 0, len, this.pos);
    this.buf = b;
    this.bufStart = this.pos;
  }

  async byte(): Promise<number> {
    await this.ensure(1);
    return this.buf[this.pos++ - this.bufStart];
  }

  async varint(): Promise<number> {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = await this.byte();
      result += (b & 0x7f) * mul;
      if (!(b & 0x80)) return result;
      mul *= 128;
    }
    throw new Error('bad varint');
  }

  async bytes(n: number): Promise<Buffer> {
    await this.ensure(n);
    const off = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }

  async skip(wireType: number): Promise<void> {
    switch (wireType) {
      case 0:
        await this.varint();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2: {
        const n = await this.varint();
        this.pos += n;
        return;
      }
      case 5:
        this.pos += 4;
        return;
      default:
        throw new Error(`unsupported protobuf wire type ${wireType} at byte ${this.pos}`);
    }
  }
}

/** Decodes fields of a small in-memory message: yields [field, wireType, value]. */
function* fields(buf: Buffer): Generator<[number, number, Buffer | number]> {
  let p = 0;
  const varint = (): number => {
    let r = 0;
    let mul = 1;
    for (;;) {
      const b = buf[p++];
      if (b === undefined) throw new Error('truncated varint');
      r += (b & 0x7f) * mul;
      if (!(b & 0x80)) return r;
      mul *= 128;
    }
  };
  while (p < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (wt === 0) yield [field, wt, varint()];
    else if (wt === 2) {
      const n = varint();
      yield [field, wt, buf.subarray(p, p + n)];
      p += n;
    } else if (wt === 1) p += 8;
    else if (wt === 5) p += 4;
    else throw new Error(`unsupported wire type ${wt}`);
  }
}

/**
 * What a file that starts with these bytes is, when it is text rather than a protobuf (a model file is
 * binary from its first bytes: a ModelProto begins with field tags, never with printable text).
 */
function textKind(head: Buffer): string | undefined {
  const text = head.toString('latin1');
  if (text.startsWith('version https://git-lfs')) return 'a Git LFS pointer: fetch the model itself with git lfs pull';
  if (text.startsWith('<')) return 'an HTML or XML file: a download that went wrong?';
  // Printable ASCII/UTF-8 with line breaks throughout: a text file.
  let printable = 0;
  for (const b of head) if (b === 9 || b === 10 || b === 13 || b >= 0x20) printable++;
  return printable === head.length && /[\n ]/.test(text) ? 'the file is text' : undefined;
}

/** Reads the ModelProto header fields and metadata_props of an .onnx file. */
export async function readOnnxHeader(path: string): Promise<OnnxHeader> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such model file' : e instanceof Error ? e.message : String(e)}`);
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) throw new Error('empty file (0 bytes)');
    const head = Buffer.alloc(Math.min(size, 512));
    await fh.read(head, 0, head.length, 0);
    const what = textKind(head);
    if (what) throw new Error(`not an ONNX model (${what})`);
    const r = new Reader(fh, size);
    const out: OnnxHeader = { metadata: {}, opsetVersions: [] };
    let sawField = false;
    while (r.pos < size) {
      const tag = await r.varint();
      const field = Math.floor(tag / 8);
      const wt = tag & 7;
      if (field === 0) throw new Error('not an ONNX model (field 0)');
      sawField = true;
      const str = async () => (await r.bytes(await r.varint())).toString('utf8');
      if (field === 1 && wt === 0) out.irVersion = await r.varint();
      else if (field === 2 && wt === 2) out.producerName = await str();
      else if (field === 3 && wt === 2) out.producerVersion = await str();
      else if (field === 4 && wt === 2) out.domain = await str();
      else if (field === 5 && wt === 0) out.modelVersion = await r.varint();
      else if (field === 6 && wt === 2) out.docString = await str();
      else if (field === 8 && wt === 2) {
        const msg = await r.bytes(await r.varint());
        let domain = '';
        let version = 0;
        for (const [f, , v] of fields(Buffer.from(msg))) {
          if (f === 1 && Buffer.isBuffer(v)) domain = v.toString('utf8');
          if (f === 2 && typeof v === 'number') version = v;
        }
        out.opsetVersions.push({ domain, version });
      } else if (field === 14 && wt === 2) {
        const msg = await r.bytes(await r.varint());
        let key = '';
        let value = '';
        for (const [f, , v] of fields(Buffer.from(msg))) {
          if (f === 1 && Buffer.isBuffer(v)) key = v.toString('utf8');
          if (f === 2 && Buffer.isBuffer(v)) value = v.toString('utf8');
        }
        out.metadata[key] = value;
      } else await r.skip(wt);
    }
    if (!sawField || r.pos !== size) throw new Error('not an ONNX model (protobuf framing does not match the file size)');
    return out;
  } catch (e) {
    throw new Error(`${path}: cannot read ONNX model header: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await fh.close();
  }
}
