// When text output gets colour and grouping. The conventions, in Node's own order
// (FORCE_COLOR beats NO_COLOR, as in Node's tty.getColorDepth):
//   FORCE_COLOR=0|false      never colour
//   FORCE_COLOR=<other>      colour even into a pipe (CI logs that render ANSI)
//   NO_COLOR=<non-empty>     no colour (https://no-color.org)
//   otherwise                colour only when stdout is a terminal and TERM is not "dumb"
// Grouping by file is for a person at a terminal: on a TTY, or when colour is forced.
// Into a pipe without FORCE_COLOR the output stays the plain file:line format tools parse.

export interface TextStyle {
  color: boolean;
  group: boolean;
}

export function textStyle(env: Record<string, string | undefined>, isTTY: boolean): TextStyle {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') {
    const on = force !== '0' && force.toLowerCase() !== 'false';
    return { color: on, group: isTTY || on };
  }
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return { color: false, group: isTTY };
  return { color: isTTY && env.TERM !== 'dumb', group: isTTY };
}

export interface Paint {
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;

export const ANSI: Paint = { red: sgr(31, 39), yellow: sgr(33, 39), cyan: sgr(36, 39), bold: sgr(1, 22), dim: sgr(2, 22) };
const id = (s: string) => s;
export const PLAIN: Paint = { red: id, yellow: id, cyan: id, bold: id, dim: id };
