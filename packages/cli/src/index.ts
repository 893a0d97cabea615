// @parcnet/cli: the `parcnet` command (the umbrella package's bin runs `main`).
export { main } from './main.js';
export type { Flags } from './flags.js';
