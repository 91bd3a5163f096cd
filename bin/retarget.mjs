#!/usr/bin/env node
// The `retarget` CLI. TypeScript sources run through tsx: no build step.
import { register } from 'tsx/esm/api';

register();
// `retarget runs | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const { main } = await import('../pipelines/cli/main.ts');
process.exitCode = await main(process.argv);
