import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

let loader: string | undefined;

/**
 * The file URL of tsx's loader (`node --import <it> file.ts` runs TypeScript), resolved from this
 * package, once and only when a TypeScript step needs it. `createRequire` rather than
 * `import.meta.resolve`, so the CommonJS bundle of the CLI resolves it too (tsx's `.` export is
 * the same file for both).
 */
export function tsxLoader(): string {
  return (loader ??= pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href);
}
