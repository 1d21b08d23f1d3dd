import pc from 'picocolors';
import { useColor } from '../util/use-color.js';

export { useColor };

/**
 * Colours for one stream of the CLI. Every message decides by the stream it is written to, not by
 * picocolors' global guess (which looks at the process's stdout and turns colour on whenever `CI` is set).
 * `io.color` is false when the command line says `--no-color`, wherever the message comes from.
 */
export function colorsFor(
  stream: { isTTY?: boolean },
  io: { env: NodeJS.ProcessEnv; color?: boolean | undefined },
  flag?: boolean,
): ReturnType<typeof pc.createColors> {
  return pc.createColors(useColor(stream, io.env, flag ?? io.color));
}
