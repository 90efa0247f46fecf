#!/usr/bin/env node
// The command line: one program, one subcommand per task. Each subcommand lives in commands/ and
// owns its process lifecycle; this file only wires them up and turns thrown errors into exit codes.
import { Command, CommanderError } from 'commander';
import { registerBackfill } from './commands/backfill.js';
import { registerClassify } from './commands/classify.js';
import { registerDemo } from './commands/demo.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerModels } from './commands/models.js';
import { registerSetup } from './commands/setup.js';
import { registerTrain } from './commands/train.js';
import { registerMigrate } from './commands/migrate.js';
import { registerQueues } from './commands/queues.js';
import { registerRuns } from './commands/runs.js';
import { registerSchedule } from './commands/schedule.js';

const program = new Command()
  .name('listing-pipeline')
  .description('Categorise marketplace listings from photos and text through BullMQ worker pools.')
  .showHelpAfterError()
  // Usage errors (a bad option value, an unknown command) are thrown like any other failure rather than
  // exiting inside commander, so that --json still ends stdout with a JSON object. Set before the
  // subcommands are added: they inherit it.
  .exitOverride();

registerMigrate(program);
registerBackfill(program);
registerQueues(program);
registerDemo(program);
registerSetup(program);
registerTrain(program);
registerClassify(program);
registerEvaluate(program);
registerModels(program);
registerSchedule(program);
registerRuns(program);

// With --json the last stdout line is one JSON object on failure too (README: "All subcommands accept
// --json"), so a script reading it gets the error instead of a summary from an earlier line or nothing.
const json = process.argv.slice(2).includes('--json');
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has already printed its message (and the usage) to stderr; --help and --version end here with 0.
    process.exitCode = err.exitCode;
    if (json && err.exitCode !== 0) process.stdout.write(`${JSON.stringify({ error: err.message.replace(/^error: /, ''), exitCode: err.exitCode })}\n`);
  } else {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = 1;
    if (json) process.stdout.write(`${JSON.stringify({ error: message, exitCode: 1 })}\n`);
  }
}
