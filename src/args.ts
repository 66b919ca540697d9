// A thin layer over node:util parseArgs: strict parsing, and its errors turned into one-line
// USAGE errors that say what to do, instead of parseArgs' own long messages. A leaf module:
// both the CLI and the server's configuration parse flags with it.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest } from './edit-distance.ts';
import { NetguardError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new NetguardError('USAGE', describeParseError(err as NodeJS.ErrnoException, argv, options));
  }
}

/** "; did you mean X?" when `input` is a small typo of one of `candidates`, else "". */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const near = closest(input, candidates);
  return near ? `; did you mean ${near}?` : '';
}

/** Every spelling of the options: --long and -s. */
function spellings(options: Options): string[] {
  return Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
}

function describeParseError(err: NodeJS.ErrnoException, argv: readonly string[], options: Options): string {
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const opt = /'([^']+)'/.exec(err.message)?.[1] ?? '?';
      // "--namspace=x" is still a typo of --namespace: compare the option part only.
      const bare = opt.split('=')[0];
      return `unknown option ${opt}${didYouMean(bare, spellings(options).filter((s) => s.startsWith('--') === bare.startsWith('--')))}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // "Option '-o, --output <value>' argument missing" or "... does not take an argument"
      const opt = /'([^']+)'/.exec(err.message)?.[1]?.split(' <')[0] ?? '?';
      return err.message.includes('missing') ? `option ${opt} needs a value` : `option ${opt} does not take a value`;
    }
    default:
      return `${err.message} (arguments: ${argv.join(' ')})`;
  }
}
