/**
 * The `parcnet` command (the umbrella package's bin runs `main`).
 *
 * @packageDocumentation
 * @module @parcnet/cli
 */
export { main } from './main.js';
export type { Flags } from './flags.js';
