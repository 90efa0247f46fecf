// `models`: list the registered models, choose the current one per role, and the explicit `pull` of
// the pretrained production encoders (the only code path that downloads weights).
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { migrate } from '../../db/migrate.js';
import { createDb } from '../../db/pool.js';
import { createLogger } from '../../logging.js';
import { readManifest } from '../../models/load.js';
import type { ModelRole } from '../../models/manifest-types.js';
import { pullModels, setCurrentModel, MODEL_ROLES, DEFAULT_HUB_URL } from '../../models/registry/index.js';
import { pruneModels, type PruneResult } from '../../training/prune-models.js';
import { parseNumber } from '../options.js';
import { printSummary, type OutputOptions } from '../output.js';

function formatPrune(r: PruneResult): string {
  const lines = [
    r.removed.length === 0
      ? 'Nothing to prune.'
      : `${r.dryRun ? 'Would remove' : 'Removed'} ${r.removed.length} model version(s):`,
    ...r.removed.map((m) => `  - ${m.role.padEnd(14)} ${m.version}`),
    ...(r.orphanVersions.length > 0 ? [`${r.dryRun ? 'Would delete' : 'Deleted'} the rows of versions no manifest entry lists: ${r.orphanVersions.join(', ')}`] : []),
    'Kept:',
    ...r.kept.map((k) => `    ${k.role.padEnd(14)} ${k.version} (${k.why})`),
  ];
  if (!r.dryRun && (r.removed.length > 0 || r.orphanVersions.length > 0)) {
    lines.push(`Deleted ${r.rows.textEmbeddings} text embedding, ${r.rows.imageEmbeddings} photo embedding and ${r.rows.predictions} prediction row(s), and ${r.files.length} file(s)/folder(s) under MODELS_DIR.`);
  }
  if (r.dryRun && (r.removed.length > 0 || r.orphanVersions.length > 0)) lines.push('Nothing was changed (--dry-run).');
  return lines.join('\n');
}

export function registerModels(program: Command): void {
  const models = program.command('models').description('Inspect, choose and pull models (MODELS_DIR/manifest.json).');
  models
    .command('list')
    .description('List registered models; * marks the current one per role.')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: OutputOptions) => {
      const manifest = await readManifest(loadConfig());
      const rows = (manifest?.models ?? []).map((m) => ({
        current: manifest?.current[m.role] === m.version,
        role: m.role,
        version: m.version,
        runtime: m.runtime,
        embeddingDim: m.embeddingDim ?? null,
      }));
      const human = rows.length
        ? rows.map((r) => `${r.current ? '*' : ' '} ${r.role.padEnd(14)} ${r.version} (${r.runtime})`).join('\n')
        : 'No models are registered; run `npm run cli -- setup` (offline) or `npm run cli -- models pull`.';
      printSummary(opts, human, { models: rows });
    });
  models
    .command('use <role> <version>')
    .description(`Make a registered model current for its role (${MODEL_ROLES.join(', ')}); running pools switch within seconds.`)
    .option('--json', 'print the summary as one JSON object')
    .action(async (role: string, version: string, opts: OutputOptions) => {
      if (!(MODEL_ROLES as readonly string[]).includes(role)) throw new Error(`Unknown role "${role}"; use one of ${MODEL_ROLES.join(', ')}.`);
      await setCurrentModel(loadConfig().MODELS_DIR, role as ModelRole, version);
      printSummary(opts, `${role} is now ${version}.`, { role, version });
    });
  models
    .command('prune')
    .description('Remove old model versions: their manifest entries, files, embeddings and predictions. Keeps the current model of each role, the --keep most recent others, and the encoders of kept classifiers.')
    .option('--keep <n>', 'previous versions kept per role (rollback targets for `models use`)', parseNumber('--keep', 'whole>=0'), 1)
    .option('--dry-run', 'print what would be removed and change nothing')
    .option('--orphans', 'also delete the rows of model versions no manifest entry lists (after a prune failed part-way); not for a database shared by several MODELS_DIRs')
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: OutputOptions & { keep: number; dryRun?: boolean; orphans?: boolean }) => {
      const config = loadConfig();
      await migrate(config);
      const db = createDb(config, { applicationName: 'models-prune' });
      try {
        const result = await pruneModels({ db, config, log: createLogger(config, 'models-prune') }, { keep: opts.keep, dryRun: opts.dryRun === true, orphans: opts.orphans === true });
        printSummary(opts, formatPrune(result), { ...result });
      } finally {
        await db.close();
      }
    });
  models
    .command('pull')
    .description('Download bert-base-uncased (transformers.js layout) and a ResNet-50 ONNX backbone into MODELS_DIR (needs a route to the model hub).')
    .option('--base-url <url>', 'model hub or mirror (http, https or file://)', DEFAULT_HUB_URL)
    .option('--json', 'print the summary as one JSON object')
    .action(async (opts: OutputOptions & { baseUrl: string }) => {
      const config = loadConfig();
      const entries = await pullModels(config.MODELS_DIR, {
        baseUrl: opts.baseUrl,
        maxTokens: config.TEXT_MAX_TOKENS,
        logger: createLogger(config, 'models-pull'),
      });
      printSummary(
        opts,
        entries.map((e) => `registered ${e.role} ${e.version}; make it current with \`npm run cli -- models use ${e.role} ${e.version}\``).join('\n'),
        { registered: entries.map((e) => ({ role: e.role, version: e.version })) },
      );
    });
}
