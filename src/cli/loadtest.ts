/**
 * npm run loadtest -- --sockets 20000 --rooms 20 --senders 20 --rate 200 --duration 30
 *
 * Many Phoenix Channels sockets against a chat server on this machine; every
 * delivery checked (nothing lost, nothing twice). `--help` lists the options.
 * Exit: 0 all good, 1 the run failed or found loss/doubles, 2 usage error.
 */
import { writeFileSync } from 'node:fs';
import { HELP, parseArgs } from './loadtest/options.js';
import { formatTable } from './loadtest/report.js';
import { runLoadtest } from './loadtest/run.js';

const parsed = parseArgs(process.argv.slice(2));
if (!parsed.ok) {
  if (parsed.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  for (const error of parsed.errors) process.stderr.write(`loadtest: ${error}\n`);
  process.stderr.write('loadtest: see --help\n');
  process.exit(2);
}
const options = parsed.options;

// On a terminal the progress line rewrites itself; in a log it is one line every 5 s.
const tty = process.stderr.isTTY === true;
let lines = 0;
const onProgress = (line: string): void => {
  if (tty) process.stderr.write(`\r${line}\x1b[K`);
  else if (lines++ % 5 === 0) process.stderr.write(`${line}\n`);
};

try {
  const result = await runLoadtest(options, { onProgress });
  if (tty) process.stderr.write('\n');
  process.stdout.write(`${formatTable(result)}\n`);
  if (options.json !== undefined) writeFileSync(options.json, `${JSON.stringify({ options, result }, null, 2)}\n`);
  process.exit(result.failures.length === 0 ? 0 : 1);
} catch (error) {
  if (tty) process.stderr.write('\n');
  process.stderr.write(`loadtest: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
