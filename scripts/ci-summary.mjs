// Prints the closing line CI reads, `N passed, N failed, N skipped`, from vitest's JSON report.
// With no report (the build, type check or lint failed first), counts that step as one failure.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? '.test-results.json';
if (!existsSync(file)) {
  console.log('0 passed, 1 failed');
  process.exit(0);
}
const report = JSON.parse(readFileSync(file, 'utf8'));
const passed = report.numPassedTests ?? 0;
let failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
// A test file that fails to load has no tests but must still count.
failed += (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0).length;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
