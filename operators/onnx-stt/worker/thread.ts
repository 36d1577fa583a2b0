/**
 * The worker-thread side of a WorkerSession (worker-session.ts): owns one onnxruntime-node
 * InferenceSession and runs it for the main thread, whose event loop meanwhile reads files, computes
 * mel features and decodes (onnxruntime-node runs `session.run` synchronously on its calling thread).
 * It serves stateless `run` calls and hosts cache-aware streams (stream-host.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { StreamHost } from './stream-host.js';
import type { WireTensor, WorkerReply, WorkerRequest } from './protocol.js';

const port = parentPort!;
const { path, options } = workerData as { path: string; options: ort.InferenceSession.SessionOptions };

const toWire = (t: ort.Tensor): WireTensor => ({ type: t.type, data: t.data as WireTensor['data'], dims: [...t.dims] });

ort.InferenceSession.create(path, options).then(
  (session) => {
    const ready: WorkerReply = {
      type: 'ready',
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
      inputMetadata: structuredClone([...session.inputMetadata]),
      outputMetadata: structuredClone([...session.outputMetadata]),
    };
    port.postMessage(ready);
    const host = new StreamHost(session, (reply, transfer) => port.postMessage(reply, transfer ?? []));
    port.on('message', (m: WorkerRequest) => {
      if (m.type !== 'run') {
        host.handle(m);
        return;
      }
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
      session.run(feeds).then(
        (r) => {
          const outputs: Record<string, WireTensor> = {};
          const transfer: ArrayBuffer[] = [];
          for (const [name, t] of Object.entries(r)) {
            outputs[name] = toWire(t);
            const buf = (t.data as Float32Array).buffer as ArrayBuffer;
            if (!transfer.includes(buf)) transfer.push(buf);
          }
          port.postMessage({ type: 'result', id: m.id, outputs } satisfies WorkerReply, transfer);
        },
        (e: unknown) => port.postMessage({ type: 'fail', id: m.id, message: e instanceof Error ? e.message : String(e) } satisfies WorkerReply),
      );
    });
  },
  (e: unknown) => port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies WorkerReply),
);
