/**
 * Writes the JSON Schema for workflow files from the zod schema that `src/workflow-file/`
 * validates with. Usage: `npx tsx scripts/gen-workflow-schema.ts [output]`
 * (default: schema/workflow.schema.json). A test fails when the committed file differs.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workflowJsonSchema } from '../src/workflow-file/schema.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const output = path.resolve(process.argv[2] ?? path.join(repoRoot, 'schema', 'workflow.schema.json'));

await mkdir(path.dirname(output), { recursive: true });
await writeFile(output, `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), output)}`);
