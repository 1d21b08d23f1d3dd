/**
 * Whether to colour what goes to `stream`. Off with `--no-color` (`flag` false) or a non-empty
 * NO_COLOR (https://no-color.org); on with a FORCE_COLOR other than `0`/`false` (CI logs that
 * render colour); otherwise only on a terminal whose TERM is not `dumb`.
 */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag?: boolean): boolean {
  if (flag === false || (env.NO_COLOR ?? '') !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return stream.isTTY === true && env.TERM !== 'dumb';
}
