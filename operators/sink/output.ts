/**
 * Where the Sink's records go. Every write is synchronous and unbuffered (fs.writeSync on a
 * descriptor opened once; stdout writes are synchronous on Linux for files, pipes and terminals),
 * so a record is with the kernel as soon as the item has passed: a crash loses no finished stream.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isatty } from 'node:tty';

export interface Output {
  /** True when the destination starts empty (a header is due). */
  readonly fresh: boolean;
  /** Writes go to a terminal (text records then update partials in place: terminal.ts). */
  readonly terminal?: boolean;
  write(text: string): void;
  /** Make what was written durable at a stream's end (fdatasync for files). */
  sync(): void;
  close(): void;
}

let stdoutGuarded = false;

/** A reader that went away (`| head`) is not a failure of the run. */
function guardStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

export function stdoutOutput(): Output {
  // Redirected to a file or a device (`> out.txt`, `> /dev/full`): write the descriptor directly, as
  // process.stdout would (synchronously), so that a failed write (a full disk) throws here, where the
  // Sink makes it its one-line error, instead of surfacing later as an uncaught 'error' event.
  if (redirectedToFile(1)) return descriptorOutput(1);
  guardStdout();
  return {
    fresh: true,
    terminal: process.stdout.isTTY === true,
    write: (text) => {
      process.stdout.write(text);
    },
    sync: () => {},
    close: () => {},
  };
}

export interface FileOutputOptions {
  append: boolean;
  fsync: boolean;
}

export function fileOutput(file: string, opts: FileOutputOptions): Output {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  if (fs.statSync(file, { throwIfNoEntry: false })?.isFIFO()) {
    // Opening a FIFO for writing waits for a reader, and a main thread blocked in open(2) cannot even
    // handle SIGINT: with nobody reading, refuse at once.
    try {
      fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw new Error('a FIFO that nobody reads (start its reader first)');
      throw e;
    }
  }
  const fd = fs.openSync(file, opts.append ? 'a' : 'w');
  const fresh = !opts.append || fs.fstatSync(fd).size === 0;
  let open = true;
  return {
    fresh,
    write: (text) => writeAll(fd, text),
    sync: () => {
      if (open && opts.fsync) fs.fdatasyncSync(fd);
    },
    close: () => {
      if (!open) return;
      open = false;
      fs.closeSync(fd);
    },
  };
}

function redirectedToFile(fd: number): boolean {
  try {
    const target = fs.fstatSync(fd);
    return target.isFile() || (target.isCharacterDevice() && !isatty(fd));
  } catch {
    return false; // closed: process.stdout reports it
  }
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

/** A descriptor this process did not open (stdout): written, never closed. */
function descriptorOutput(fd: number): Output {
  return { fresh: true, write: (text) => writeAll(fd, text), sync: () => {}, close: () => {} };
}

/** The callback form: each formatted record goes to `fn`. */
export function callbackOutput(fn: (record: string) => void): Output {
  return { fresh: true, write: fn, sync: () => {}, close: () => {} };
}
