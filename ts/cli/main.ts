/**
 * The `fvc` command line. Commands that do not need the native core (help,
 * corpus) never load it; the addon loads on first native call.
 */
import { Command, CommanderError } from 'commander';
import { FvcError } from '../errors.js';
import { registerCache } from './commands/cache.js';
import { registerCompare } from './commands/compare.js';
import { registerCorpus } from './commands/corpus.js';
import { registerDemo } from './commands/demo.js';
import { registerExtract } from './commands/extract.js';
import { registerFeatures } from './commands/features.js';
import { registerFrames } from './commands/frames.js';
import { registerInfo } from './commands/info.js';
import { registerModels } from './commands/models.js';
import { registerPipeline } from './commands/pipeline.js';
import { registerProbe } from './commands/probe.js';
import { registerQuery } from './commands/query.js';
import { registerReport } from './commands/report.js';
import { registerSlurm } from './commands/slurm.js';
import { registerStages } from './commands/stages.js';
import { registerTrain } from './commands/train.js';
import { registerValidate } from './commands/validate.js';
import { registerWeights } from './commands/weights.js';

export function buildProgram(): Command {
  const program = new Command('fvc')
    .description('fake-video classifier toolkit: decode, featurize, train and evaluate deepfake detectors')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of [
    registerProbe,
    registerFrames,
    registerFeatures,
    registerValidate,
    registerStages,
    registerCache,
    registerExtract,
    registerTrain,
    registerCompare,
    registerModels,
    registerWeights,
    registerQuery,
    registerReport,
    registerPipeline,
    registerSlurm,
    registerCorpus,
    registerInfo,
    registerDemo,
  ])
    register(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof FvcError) {
      process.stderr.write(`fvc: error: ${err.message} [${err.code}]\n`);
    } else {
      process.stderr.write(`fvc: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exitCode = 1;
  }
}
