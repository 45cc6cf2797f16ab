// The few fields of containerd's shim task API (containerd.task.v2.Task and containerd.task.v3.Task,
// same messages) that the proxy must read or rewrite:
//   CreateTaskRequest  { string id = 1; string bundle = 2; ... }              read only
//   ExecProcessRequest { string id = 1; string exec_id = 2; ...; google.protobuf.Any spec = 7; }
//   google.protobuf.Any { string type_url = 1; bytes value = 2; }
// containerd marshals the exec's runtime-spec Process into the Any as JSON (typeurl falls back to
// JSON for Go types that are not protobuf messages) under the URL below.
import { getBytes, getString, lenField, readFields, replaceField } from './ttrpc/proto.js';
import type { Field } from './ttrpc/proto.js';

export const TASK_SERVICES: ReadonlySet<string> = new Set(['containerd.task.v2.Task', 'containerd.task.v3.Task']);

/** runtime-spec major version 1; containerd registers specs.Process under this URL. */
export const PROCESS_TYPE_URL = /^(types\.containerd\.io\/)?opencontainers\/runtime-spec\/1\/Process$/;

export interface CreateTask {
  id: string;
  bundle: string;
}

export function decodeCreateTask(payload: Uint8Array): CreateTask {
  const fields = readFields(payload);
  return { id: getString(fields, 1), bundle: getString(fields, 2) };
}

/** A google.protobuf.Any field of a request: its type URL, its value, and its own fields. */
export interface AnyField {
  typeUrl: string;
  value: Uint8Array;
  fields: readonly Field[];
}

/** The Any at field `n` of a message, or undefined when the message does not carry it. */
function readAny(fields: readonly Field[], n: number): AnyField | undefined {
  const any = getBytes(fields, n);
  if (any === undefined) return undefined;
  const anyFields = readFields(any);
  return { typeUrl: getString(anyFields, 1), value: getBytes(anyFields, 2) ?? new Uint8Array(0), fields: anyFields };
}

/** The message with the Any at field `n` holding `value` instead; every other field (and the Any's type_url) kept byte for byte. */
function withAnyValue(fields: readonly Field[], n: number, any: AnyField, value: Uint8Array): Uint8Array {
  return replaceField(fields, n, lenField(n, replaceField(any.fields, 2, lenField(2, value))));
}

export interface ExecProcess {
  id: string;
  execId: string;
  /** Absent when the request carries no spec. */
  spec?: AnyField;
  fields: readonly Field[];
}

export function decodeExecProcess(payload: Uint8Array): ExecProcess {
  const fields = readFields(payload);
  const spec = readAny(fields, 7);
  return { id: getString(fields, 1), execId: getString(fields, 2), fields, ...(spec ? { spec } : {}) };
}

/** The exec request with the spec's JSON replaced. */
export function withProcessSpec(exec: ExecProcess, json: Uint8Array): Uint8Array {
  if (!exec.spec) throw new Error('exec request has no spec');
  return withAnyValue(exec.fields, 7, exec.spec, json);
}

/** containerd registers specs.LinuxResources under this URL (UpdateTaskRequest.resources). */
export const RESOURCES_TYPE_URL = /^(types\.containerd\.io\/)?opencontainers\/runtime-spec\/1\/LinuxResources$/;

export interface UpdateTask {
  id: string;
  /** Absent when the update carries only annotations. */
  resources?: AnyField;
  fields: readonly Field[];
}

/** UpdateTaskRequest { string id = 1; google.protobuf.Any resources = 2; map<string,string> annotations = 3; } */
export function decodeUpdateTask(payload: Uint8Array): UpdateTask {
  const fields = readFields(payload);
  const resources = readAny(fields, 2);
  return { id: getString(fields, 1), fields, ...(resources ? { resources } : {}) };
}

/** The update request with the resources' JSON replaced. */
export function withResources(update: UpdateTask, json: Uint8Array): Uint8Array {
  if (!update.resources) throw new Error('update request has no resources');
  return withAnyValue(update.fields, 2, update.resources, json);
}
