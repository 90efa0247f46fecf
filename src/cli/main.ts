#!/usr/bin/env node
// The command line: one program, one subcommand per task. Each subcommand lives in commands/ and
// owns its process lifecycle; this file only wires them up and turns thrown errors into exit codes.
import { Command } from 'commander';
import { registerBackfill } from './commands/backfill.js';
import { registerClassify } from './commands/classify.js';
import { registerDemo } from './commands/demo.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerModels } from './commands/models.js';
import { registerSetup } from './commands/setup.js';
import { registerTrain } from './commands/train.js';
import { registerMigrate } from './commands/migrate.js';
import { registerQueues } from './commands/queues.js';
import { registerSchedule } from './commands/schedule.js';

const program = new Command()
  .name('listing-pipeline')
  .description('Categorise marketplace listings from photos and text through BullMQ worker pools.')
  .showHelpAfterError();

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

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
