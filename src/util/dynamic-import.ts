/** Where the CLI's launcher (src/cli/launch.cts) puts its `import()`. */
export const HOST_IMPORT = Symbol.for('codomyrmex-orchestrator.import');

/**
 * `import(specifier)` for code that is also bundled into the CLI. The launcher runs the bundle as
 * a code-cached `vm` script, and on Node 20 an `import()` inside such a script fails once the cache
 * is used ("A dynamic import callback was not specified"): the launcher hands over its own
 * `import()` instead, which resolves packages from the same folder. The library (tsc's output)
 * uses its own. Specifiers are packages or file URLs, never relative paths.
 */
export function dynamicImport<T = Record<string, unknown>>(specifier: string): Promise<T> {
  const host = (globalThis as Record<symbol, unknown>)[HOST_IMPORT] as ((specifier: string) => Promise<T>) | undefined;
  return host ? host(specifier) : (import(specifier) as Promise<T>);
}
