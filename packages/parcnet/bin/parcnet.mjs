#!/usr/bin/env node
// The `parcnet` command. parcnet's packages are TypeScript sources: register tsx's loader, then run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('@parcnet/cli');
const code = await main(process.argv.slice(2));
// Worker threads (WASM kernels, data loaders) are not waited for: exit once the command is done,
// but only after stdout and stderr have drained (a pipe that is full makes writes asynchronous, and
// exiting would drop the rest of the output).
const drained = (stream) => new Promise((resolve) => stream.write('', resolve));
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit(code);
