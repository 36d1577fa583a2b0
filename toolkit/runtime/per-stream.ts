import { Observable, type OperatorFunction } from 'rxjs';
import { errorItem, type ConsumedKind, type ErrorItem, type StreamItem } from '../items.js';
import type { FlowControl } from './flow.js';
import { stateIn, withState, withUnsupported } from './snapshot.js';

export type Emit = (item: StreamItem) => void;
type MaybePromise = void | Promise<void>;

/**
 * The per-stream state pattern of every stateful operator (SPL's partitioned operators).
 * State is created on a stream's first item, flushed and freed at its window punctuation, and flushed
 * at final punctuation (completion). A throw ends that stream alone with an error record.
 */
export interface StreamHandler<S> {
  /** Names the operator in error records. */
  operator: string;
  /** Item kinds this operator consumes; all other items (utterance markers too, unless listed) pass through in order. */
  accepts: readonly ConsumedKind[];
  open(streamId: string): S;
  onItem(state: S, item: StreamItem, emit: Emit): MaybePromise;
  /** Flush at the end of the stream (window punctuation or completion). */
  onEnd?(state: S, emit: Emit): MaybePromise;
  /** Free resources; also called when the stream failed or the subscriber went away. */
  release?(state: S): void;
  /** When given, queued items are counted so that sources slow down. */
  flow?: FlowControl;
  /**
   * When this returns true, an asynchronous `onEnd` does not hold up the other streams' items: the
   * ending stream's state leaves at once (a later item with its id starts a new stream), its window
   * punctuation goes out when `onEnd` has finished, and completion waits for it. For operators whose
   * streams proceed concurrently (batched inference), so one stream's flush does not stall the rest.
   */
  endsConcurrently?: () => boolean;
  /**
   * The stream's state as a plain structured-cloneable value (checkpoint markers). Without it, a
   * checkpoint names this operator as unable to snapshot. Operators that list 'checkpoint' in `accepts`
   * get the marker in `onItem` instead and add their state themselves (runtime/snapshot.ts `withState`),
   * e.g. after their in-flight asynchronous work.
   */
  snapshot?(state: S): unknown;
  /** A state rebuilt from `snapshot`'s value (restore markers). */
  restore?(streamId: string, value: unknown): S;
}

/** What a checkpoint holds for a stream that had failed in this operator. */
const FAILED_STREAM = { failedStream: true } as const;
function isFailedStream(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (v as { failedStream?: unknown }).failedStream === true;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs `fn` for one stream's item; a throw becomes that stream's error item (returned), so that the
 * other streams go on. perStream does this for its handlers; sinks that are not perStream stages
 * (WebSocketSink, RedisResultSink) use it in their subscribers.
 */
export function catchForStream(streamId: string, operator: string, fn: () => void): ErrorItem | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return errorItem(streamId, operator, errorMessage(e));
  }
}

function isPromise(x: unknown): x is Promise<void> {
  return !!x && typeof (x as Promise<void>).then === 'function';
}

export function perStream<S>(h: StreamHandler<S>): OperatorFunction<StreamItem, StreamItem> {
  const accepts = new Set<string>(h.accepts);
  return (source) =>
    new Observable<StreamItem>((dest) => {
      const states = new Map<string, S>();
      const failed = new Set<string>();
      // Tasks run strictly in arrival order; async ones (inference) block the ones behind them.
      const queue: Array<{ streamId: string; run: () => MaybePromise }> = [];
      let running = false;
      let sourceDone = false;
      let closed = false;
      /** Streams ending concurrently (endsConcurrently): their flush promises and states. */
      const ending = new Map<Promise<void>, S>();

      const emit: Emit = (item) => {
        if (!closed) dest.next(item);
      };

      const drop = (streamId: string) => {
        const state = states.get(streamId);
        states.delete(streamId);
        if (state !== undefined) h.release?.(state);
      };

      const fail = (streamId: string, e: unknown) => {
        if (failed.has(streamId)) return;
        drop(streamId);
        failed.add(streamId);
        emit(errorItem(streamId, h.operator, errorMessage(e)));
      };

      const stateOf = (streamId: string): S => {
        let state = states.get(streamId);
        if (state === undefined) {
          state = h.open(streamId);
          states.set(streamId, state);
        }
        return state;
      };

      const finish = () => {
        const remaining = [...states.keys()];
        const next = (): void => {
          while (remaining.length) {
            const id = remaining.shift()!;
            const state = states.get(id);
            if (state === undefined || !h.onEnd) {
              drop(id);
              continue;
            }
            let r: MaybePromise;
            try {
              r = h.onEnd(state, emit);
            } catch (e) {
              fail(id, e);
              continue;
            }
            if (isPromise(r)) {
              r.then(
                () => {
                  drop(id);
                  next();
                },
                (e) => {
                  fail(id, e);
                  next();
                },
              );
              return;
            }
            drop(id);
          }
          if (!ending.size) {
            if (!closed) dest.complete();
            return;
          }
          void Promise.allSettled([...ending.keys()]).then(() => {
            if (!closed) dest.complete();
          });
        };
        next();
      };

      /** Ends one stream without holding up the queue (endsConcurrently). */
      const endDetached = (id: string, state: S, r: Promise<void>, item: StreamItem) => {
        states.delete(id);
        const done = r.then(
          () => {
            if (!ending.delete(done)) return;
            h.release?.(state);
            emit(item);
          },
          (e) => {
            if (!ending.delete(done)) return;
            h.release?.(state);
            emit(errorItem(id, h.operator, errorMessage(e)));
            emit(item);
          },
        );
        ending.set(done, state);
      };

      const pump = () => {
        while (!running && queue.length) {
          const task = queue.shift()!;
          h.flow?.release();
          let r: MaybePromise;
          try {
            r = task.run();
          } catch (e) {
            fail(task.streamId, e);
            continue;
          }
          if (isPromise(r)) {
            running = true;
            r.then(
              () => {
                running = false;
                pump();
              },
              (e) => {
                running = false;
                fail(task.streamId, e);
                pump();
              },
            );
            return;
          }
        }
        if (!running && !queue.length && sourceDone && !closed) finish();
      };

      const enqueue = (streamId: string, run: () => MaybePromise) => {
        h.flow?.hold();
        queue.push({ streamId, run });
        pump();
      };

      const onNext = (item: StreamItem) => {
        const id = item.streamId;
        if (item.kind === 'punct') {
          enqueue(id, () => {
            if (failed.delete(id)) return emit(item);
            const close = () => {
              drop(id);
              failed.delete(id);
              emit(item);
            };
            let r: MaybePromise;
            const state = stateOf(id);
            try {
              r = h.onEnd?.(state, emit);
            } catch (e) {
              fail(id, e);
              return close();
            }
            if (isPromise(r) && h.endsConcurrently?.()) return endDetached(id, state, r, item);
            if (isPromise(r)) {
              return r.then(close, (e) => {
                fail(id, e);
                close();
              });
            }
            close();
          });
        } else if (item.kind === 'checkpoint') {
          enqueue(id, () => {
            // A failed stream stays failed after a restore (its uninterrupted run would write nothing more).
            if (failed.has(id)) return emit(withState(item, h.operator, FAILED_STREAM));
            const state = states.get(id);
            if (state === undefined) return emit(item); // nothing seen yet: a restore starts it fresh
            if (accepts.has('checkpoint')) return h.onItem(state, item, emit);
            emit(h.snapshot ? withState(item, h.operator, h.snapshot(state)) : withUnsupported(item, h.operator));
          });
        } else if (item.kind === 'restore') {
          enqueue(id, () => {
            drop(id);
            failed.delete(id);
            const value = stateIn(item, h.operator);
            if (isFailedStream(value)) failed.add(id);
            else if (value !== undefined) {
              if (!h.restore) throw new Error(`${h.operator} cannot restore a stream's state`);
              states.set(id, h.restore(id, value));
            }
            emit(item);
          });
        } else if (item.kind === 'error') {
          enqueue(id, () => {
            drop(id);
            failed.add(id);
            emit(item);
          });
        } else if (accepts.has(item.kind)) {
          enqueue(id, () => (failed.has(id) ? undefined : h.onItem(stateOf(id), item, emit)));
        } else {
          enqueue(id, () => emit(item));
        }
      };

      const sub = source.subscribe({
        next: onNext,
        error: (e) => dest.error(e),
        complete: () => {
          sourceDone = true;
          pump();
        },
      });

      return () => {
        closed = true;
        sub.unsubscribe();
        for (const id of [...states.keys()]) drop(id);
        for (const state of ending.values()) h.release?.(state);
        ending.clear();
        if (queue.length) h.flow?.release(queue.length);
        queue.length = 0;
      };
    });
}
