// Pretend build: prints the artifact name and hands `version` and `artifact` to later steps.
import { appendFileSync } from 'node:fs';

const app = process.argv[2] ?? 'app';
const version = '1.4.2';
const artifact = `dist/${app}-${version}.tgz`;
console.log(`built ${artifact}`);
if (process.env.ORCHESTRATOR_OUTPUT) {
  appendFileSync(process.env.ORCHESTRATOR_OUTPUT, `version=${version}\nartifact=${artifact}\n`);
}
