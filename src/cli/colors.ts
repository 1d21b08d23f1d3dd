import pc from 'picocolors';

/** Whether to colour what goes to `stream`: only a terminal, never with NO_COLOR, TERM=dumb or --no-color. */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag?: boolean): boolean {
  return flag !== false && stream.isTTY === true && !('NO_COLOR' in env) && env.TERM !== 'dumb';
}

/**
 * Colours for one stream of the CLI. Every message decides by the stream it is written to, not by
 * picocolors' global guess (which looks at the process's stdout and turns colour on whenever `CI` is set).
 */
export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag?: boolean): ReturnType<typeof pc.createColors> {
  return pc.createColors(useColor(stream, env, flag));
}
