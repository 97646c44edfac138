#!/usr/bin/env node
// The one executable. Runs the compiled code in dist/ (built by `npm run build`,
// which `npm install` runs through the `prepare` script).
import { main } from '../dist/cmd/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`meshmetrics: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
