import { stripVTControlCharacters } from 'node:util';

/**
 * Removes terminal escape sequences and other control characters (tab and line breaks stay), and
 * turns lone surrogates (a byte tail cut inside a character) into U+FFFD so the file is valid UTF-8.
 */
export function stripControlCharacters(text: string): string {
  return (
    stripVTControlCharacters(text)
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '')
      .replace(/[\uD800-\uDFFF]/gu, '\uFFFD')
  );
}
