import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonSchemas, SCHEMA_FILES } from '../../../server/config/jsonSchema.ts';

const CONFIG = path.resolve(import.meta.dirname, '../../../config');

describe('JSON Schema for editors', () => {
  it('the committed config/schema/*.json match the zod schemas (run `npm run cli -- schema` after changing them)', () => {
    const generated = jsonSchemas();
    expect(readdirSync(path.join(CONFIG, 'schema')).sort()).toEqual(Object.keys(generated).sort());
    for (const [name, text] of Object.entries(generated)) {
      expect(readFileSync(path.join(CONFIG, 'schema', name), 'utf8'), `config/schema/${name} is stale`).toBe(text);
    }
  });

  it('every demo file names its schema for yaml-language-server', () => {
    for (const [name, { file }] of Object.entries(SCHEMA_FILES)) {
      const files = file === 'ivr/*.yaml' ? readdirSync(path.join(CONFIG, 'ivr')).map((f) => `ivr/${f}`) : [file];
      for (const f of files) {
        const rel = path.relative(path.dirname(path.join(CONFIG, f)), path.join(CONFIG, 'schema', name));
        expect(readFileSync(path.join(CONFIG, f), 'utf8').split('\n')[0], f).toBe(
          `# yaml-language-server: $schema=${rel.startsWith('.') ? rel : `./${rel}`}`,
        );
      }
    }
  });

  it('describes node types and rejects unknown keys, so editors flag typos', () => {
    const flow = JSON.parse(jsonSchemas()['ivr-flow.json']!) as {
      properties: { nodes: { additionalProperties: { oneOf?: unknown[]; anyOf?: unknown[] } } };
      additionalProperties: boolean;
    };
    const variants = flow.properties.nodes.additionalProperties.oneOf ?? flow.properties.nodes.additionalProperties.anyOf ?? [];
    expect(variants).toHaveLength(13);
    expect(flow.additionalProperties).toBe(false);
  });
});
