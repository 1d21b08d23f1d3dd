import { createHash } from 'node:crypto';

/**
 * A file name for an id: the id itself when it is made of safe characters, else the id with the
 * others replaced and a short hash of the whole id appended, so `lib/x.sh` and `lib_x.sh` never
 * share a file.
 */
export function fileNameFor(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9._-]+/g, '_');
  if (safe === id && safe !== '.' && safe !== '..') return safe;
  return `${safe}-${createHash('sha256').update(id).digest('hex').slice(0, 8)}`;
}
