import { FormatError } from '@parcnet/tensor';

/** The parsed flags of one command (`node:util` parseArgs values). */
export type Flags = Record<string, string | boolean | undefined>;

/** A flag that must be a number (integer when asked), or undefined when absent. */
export function numberFlag(flags: Flags, name: string, integer = false): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new FormatError(`--${name} must be ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** The flags that say which model a weights file is for, when the file itself does not. */
export const MODEL_FLAGS = {
  model: { type: 'string' },
  'cifar-stem': { type: 'boolean' },
  'num-classes': { type: 'string' },
} as const;
