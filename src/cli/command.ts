/** The shape of one CLI command; main.ts holds the list and dispatches to it. */
import type { AppConfig } from '../config.ts';
import type { Output } from './io.ts';

export interface CommandContext {
  out: Output;
  /** The validated configuration, loaded on first use (so `--help` and `policy audit` work without one). */
  config(): AppConfig;
}

export interface Command {
  /** Words that select it, e.g. `clients create`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage and options, printed by `--help`. */
  help: string;
  /** Runs with the arguments after the command words; resolves to the exit code. */
  run(argv: string[], ctx: CommandContext): Promise<number>;
}
