// Decoding of Kubernetes protobuf request bodies for the few simple kinds kubectl's generators
// send that way (`kubectl create namespace|configmap|secret|serviceaccount`, `kubectl auth
// can-i`). Format: the "k8s\0" magic, then runtime.Unknown{typeMeta=1{apiVersion=1, kind=2},
// raw=2} where raw is the object's message from k8s.io/api generated.proto. Answers stay JSON
// (clients accept it). Other kinds in protobuf get 415 Unsupported Media Type.
import type { JsonObject } from './json.js';
import { ApiError } from './status.js';

type Field = { kind: 'string' } | { kind: 'bytes' } | { kind: 'int' } | { kind: 'bool' } | { kind: 'message'; schema: Schema } | { kind: 'map'; value: 'string' | 'bytes' } | { kind: 'time' };
interface FieldDef {
  name: string;
  type: Field;
  repeated?: boolean;
}
type Schema = Record<number, FieldDef>;

const str: Field = { kind: 'string' };
const OWNER_REFERENCE: Schema = {
  1: { name: 'kind', type: str },
  3: { name: 'name', type: str },
  4: { name: 'uid', type: str },
  5: { name: 'apiVersion', type: str },
  6: { name: 'controller', type: { kind: 'bool' } },
  7: { name: 'blockOwnerDeletion', type: { kind: 'bool' } },
};
const OBJECT_META: Schema = {
  1: { name: 'name', type: str },
  2: { name: 'generateName', type: str },
  3: { name: 'namespace', type: str },
  5: { name: 'uid', type: str },
  6: { name: 'resourceVersion', type: str },
  7: { name: 'generation', type: { kind: 'int' } },
  8: { name: 'creationTimestamp', type: { kind: 'time' } },
  11: { name: 'labels', type: { kind: 'map', value: 'string' } },
  12: { name: 'annotations', type: { kind: 'map', value: 'string' } },
  13: { name: 'ownerReferences', type: { kind: 'message', schema: OWNER_REFERENCE }, repeated: true },
  14: { name: 'finalizers', type: str, repeated: true },
};
const meta: FieldDef = { name: 'metadata', type: { kind: 'message', schema: OBJECT_META } };
const LOCAL_REF: Schema = { 1: { name: 'name', type: str } };

const SCHEMAS: Record<string, Schema> = {
  'v1/Namespace': { 1: meta, 2: { name: 'spec', type: { kind: 'message', schema: { 1: { name: 'finalizers', type: str, repeated: true } } } } },
  'v1/ConfigMap': { 1: meta, 2: { name: 'data', type: { kind: 'map', value: 'string' } }, 3: { name: 'binaryData', type: { kind: 'map', value: 'bytes' } }, 4: { name: 'immutable', type: { kind: 'bool' } } },
  'v1/Secret': {
    1: meta,
    2: { name: 'data', type: { kind: 'map', value: 'bytes' } },
    3: { name: 'type', type: str },
    4: { name: 'stringData', type: { kind: 'map', value: 'string' } },
    5: { name: 'immutable', type: { kind: 'bool' } },
  },
  'v1/ServiceAccount': {
    1: meta,
    2: { name: 'secrets', type: { kind: 'message', schema: LOCAL_REF }, repeated: true },
    3: { name: 'imagePullSecrets', type: { kind: 'message', schema: LOCAL_REF }, repeated: true },
    4: { name: 'automountServiceAccountToken', type: { kind: 'bool' } },
  },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: meta,
    2: {
      name: 'spec',
      type: {
        kind: 'message',
        schema: {
          1: {
            name: 'resourceAttributes',
            type: {
              kind: 'message',
              schema: { 1: { name: 'namespace', type: str }, 2: { name: 'verb', type: str }, 3: { name: 'group', type: str }, 4: { name: 'version', type: str }, 5: { name: 'resource', type: str }, 6: { name: 'subresource', type: str }, 7: { name: 'name', type: str } },
            },
          },
          2: { name: 'nonResourceAttributes', type: { kind: 'message', schema: { 1: { name: 'path', type: str }, 2: { name: 'verb', type: str } } } },
        },
      },
    },
  },
};

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw ApiError.badRequest('truncated protobuf');
      const b = this.buf[this.pos++] ?? 0;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.bytes();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw ApiError.badRequest(`unsupported protobuf wire type ${wire}`);
  }
}

function decodeMessage(buf: Buffer, schema: Schema): JsonObject {
  const r = new Reader(buf);
  const out: JsonObject = {};
  while (!r.done()) {
    const tag = Number(r.varint());
    const num = tag >>> 3;
    const wire = tag & 7;
    const def = schema[num];
    if (def === undefined) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    switch (def.type.kind) {
      case 'string':
        value = r.bytes().toString('utf8');
        break;
      case 'bytes':
        value = r.bytes().toString('base64');
        break;
      case 'int':
        value = Number(r.varint());
        break;
      case 'bool':
        value = r.varint() !== 0n;
        break;
      case 'time': {
        const t = decodeMessage(r.bytes(), { 1: { name: 'seconds', type: { kind: 'int' } } });
        value = typeof t['seconds'] === 'number' ? new Date(t['seconds'] * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
        break;
      }
      case 'message':
        value = decodeMessage(r.bytes(), def.type.schema);
        break;
      case 'map': {
        const entry = decodeMessage(r.bytes(), { 1: { name: 'key', type: str }, 2: { name: 'value', type: def.type.value === 'bytes' ? { kind: 'bytes' } : str } });
        const map = (out[def.name] ?? {}) as JsonObject;
        map[String(entry['key'] ?? '')] = entry['value'] ?? '';
        out[def.name] = map;
        continue;
      }
    }
    if (def.repeated === true) out[def.name] = [...((out[def.name] as unknown[] | undefined) ?? []), value];
    else out[def.name] = value;
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export function decodeKubeProtobuf(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw ApiError.badRequest('protobuf body without the k8s envelope');
  const unknown = decodeMessage(body.subarray(4), {
    1: { name: 'typeMeta', type: { kind: 'message', schema: { 1: { name: 'apiVersion', type: str }, 2: { name: 'kind', type: str } } } },
    2: { name: 'raw', type: { kind: 'bytes' } },
  });
  const typeMeta = (unknown['typeMeta'] ?? {}) as { apiVersion?: string; kind?: string };
  const key = `${typeMeta.apiVersion ?? ''}/${typeMeta.kind ?? ''}`;
  const schema = SCHEMAS[key];
  if (schema === undefined) {
    throw ApiError.unsupportedMediaType(`application/vnd.kubernetes.protobuf (${key}: the stand-in decodes protobuf only for ${Object.keys(SCHEMAS).join(', ')}; send JSON)`);
  }
  const raw = Buffer.from(String(unknown['raw'] ?? ''), 'base64');
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...decodeMessage(raw, schema) };
}
