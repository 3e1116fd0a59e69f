import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterJsonSchemaText } from '../../../src/config/json-schema.js';
import { runCli } from '../../helpers/cli.js';

const root = path.resolve(import.meta.dirname, '../../..');

describe('JSON Schema', () => {
  it('the committed schema/vmstation.schema.json is the one the validator derives (run `vmstation schema > schema/vmstation.schema.json`)', () => {
    expect(readFileSync(path.join(root, 'schema/vmstation.schema.json'), 'utf8')).toBe(clusterJsonSchemaText());
  });

  it('`vmstation schema` prints it', async () => {
    const r = await runCli(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(schema.required).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(r.stdout).not.toContain('"problem"');
  });
});
