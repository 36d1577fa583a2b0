import { Observable, type OperatorFunction } from 'rxjs';
import { errorItem, type ConsumedKind, type StreamItem } from '../items.js';
import type { FlowControl } from './flow.js';

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
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
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
          if (!closed) dest.complete();
        };
        next();
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
            try {
              r = h.onEnd?.(stateOf(id), emit);
            } catch (e) {
              fail(id, e);
              return close();
            }
            if (isPromise(r)) {
              return r.then(close, (e) => {
                fail(id, e);
                close();
              });
            }
            close();
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
        if (queue.length) h.flow?.release(queue.length);
        queue.length = 0;
      };
    });
}
