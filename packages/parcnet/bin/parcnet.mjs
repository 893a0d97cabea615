#!/usr/bin/env node
// The `parcnet` command: the compiled @parcnet/cli.
import { main } from '@parcnet/cli';

const code = await main(process.argv.slice(2));
// Worker threads (WASM kernels, data loaders) are not waited for: exit once the command is done,
// but only after stdout and stderr have drained (a pipe that is full makes writes asynchronous, and
// exiting would drop the rest of the output).
const drained = (stream) => new Promise((resolve) => stream.write('', resolve));
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit(code);
