#!/usr/bin/env node
// The package's bin entry: the code is TypeScript run through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
const { buildProgram } = await import('../server/cli.ts');
await buildProgram().parseAsync(process.argv);
