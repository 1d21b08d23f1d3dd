/**
 * Writes the JSON Schema for config files from the zod schema that `src/config/` validates with.
 * Usage: `npx tsx scripts/gen-schema.ts [output]` (default: schema/orchestrator.schema.json).
 * A test fails when the committed file differs from what this writes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/config/schema.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const output = path.resolve(process.argv[2] ?? path.join(repoRoot, 'schema', 'orchestrator.schema.json'));

await mkdir(path.dirname(output), { recursive: true });
await writeFile(output, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), output)}`);
