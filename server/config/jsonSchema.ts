/**
 * JSON Schema for each config file, generated from the zod schemas (the source of truth) so that
 * editors (yaml-language-server) autocomplete and check the files as the admin types. The files
 * are committed under config/schema/; a unit test keeps them in step with the zod schemas.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AgentsFileSchema, CentreFileSchema, FlowSchema, HoursFileSchema, PromptsFileSchema, QueuesFileSchema } from './schema.ts';

export const SCHEMA_FILES: Record<string, { schema: z.ZodType; title: string; file: string }> = {
  'centre.json': { schema: CentreFileSchema, title: 'Contact centre: server settings and trunks (centre.yaml)', file: 'centre.yaml' },
  'agents.json': { schema: AgentsFileSchema, title: 'Skills, aux codes and agents (agents.yaml)', file: 'agents.yaml' },
  'queues.json': { schema: QueuesFileSchema, title: 'ACD queues (queues.yaml)', file: 'queues.yaml' },
  'hours.json': { schema: HoursFileSchema, title: 'Business-hours calendars (hours.yaml)', file: 'hours.yaml' },
  'prompts.json': { schema: PromptsFileSchema, title: 'Prompts and music on hold (prompts.yaml)', file: 'prompts.yaml' },
  'ivr-flow.json': { schema: FlowSchema, title: 'An IVR flow (ivr/NAME.yaml)', file: 'ivr/*.yaml' },
};

/** name -> JSON text of every schema file. */
export function jsonSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, { schema, title }] of Object.entries(SCHEMA_FILES)) {
    // io "input": what the admin writes (defaults optional), not what the loader returns.
    const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
    out[name] = `${JSON.stringify({ title, ...js }, null, 2)}\n`;
  }
  return out;
}

export function writeJsonSchemas(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of Object.entries(jsonSchemas())) {
    writeFileSync(path.join(dir, name), text);
    written.push(path.join(dir, name));
  }
  return written;
}
