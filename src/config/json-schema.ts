// The JSON Schema editors use (yaml-language-server), derived from the validator's schema.
import { z } from 'zod';
import { ClusterSchema } from './schema.js';

export const SCHEMA_ID = 'https://vmstation.io/schema/vmstation.schema.json';

export function clusterJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ClusterSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  // `problem` and `secretRef` are the validator's own metadata, not JSON Schema keywords.
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([k]) => k !== 'problem' && k !== 'secretRef')
          .map(([k, val]) => [k, strip(val)]),
      );
    }
    return v;
  };
  return { ...(strip(schema) as Record<string, unknown>), $id: SCHEMA_ID, title: 'VMStation cluster file' };
}

export function clusterJsonSchemaText(): string {
  return `${JSON.stringify(clusterJsonSchema(), null, 2)}\n`;
}
