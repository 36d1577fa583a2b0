/**
 * Operator state snapshots (issue #10): each stateful operator turns one stream's state into a plain
 * structured-cloneable value (numbers, strings, arrays, typed arrays, plain objects) and back. The value
 * is serialised at once with V8's serializer, so the snapshot is a copy (the live state goes on
 * changing) and typed arrays travel as raw bytes, not JSON.
 */
import { deserialize, serialize } from 'node:v8';
import type { CheckpointItem, RestoreItem } from '../items.js';

export function encodeState(value: unknown): Uint8Array {
  return serialize(value);
}

export function decodeState<T>(bytes: Uint8Array): T {
  return deserialize(bytes) as T;
}

/** The marker with `nodeId`'s state added (a new object: a fanned-out marker is never shared mutably). */
export function withState(marker: CheckpointItem, nodeId: string, value: unknown): CheckpointItem {
  return { ...marker, states: { ...marker.states, [nodeId]: encodeState(value) } };
}

export function withUnsupported(marker: CheckpointItem, nodeId: string): CheckpointItem {
  return { ...marker, unsupported: [...(marker.unsupported ?? []), nodeId] };
}

/** `nodeId`'s state in a restore marker, decoded, or undefined when it had none (it starts fresh). */
export function stateIn<T>(marker: RestoreItem, nodeId: string): T | undefined {
  const bytes = marker.states[nodeId];
  return bytes === undefined ? undefined : decodeState<T>(bytes);
}

/** A whole checkpoint (position, seq and every operator's state) as one byte string, and back. */
export function encodeCheckpoint(c: Pick<CheckpointItem, 'position' | 'seq' | 'states'>): Buffer {
  return serialize({ v: 1, position: c.position, seq: c.seq, states: c.states });
}

export function decodeCheckpoint(bytes: Uint8Array): Pick<CheckpointItem, 'position' | 'seq' | 'states'> {
  const c = deserialize(bytes) as { v: number; position: string; seq: number; states: Record<string, Uint8Array> };
  if (c.v !== 1) throw new Error(`unknown checkpoint format version ${String(c.v)}`);
  return { position: c.position, seq: c.seq, states: c.states };
}
