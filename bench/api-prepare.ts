// Prepares the API benchmarks' environment once: the whole catalogue sample backfilled through the
// pools into the schema bench_api, the offline encoders fitted and the classifier trained with the
// 10% test split held out (so ranking quality is measured on listings the models never saw), and
// every listing classified. Rerunning does only new work.   npm run bench:api:prepare
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';
import { benchEnv } from './api-support.js';

const env = benchEnv();
const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/cli/main.ts'), 'demo'], { cwd: PROJECT_ROOT, env, stdio: 'inherit' });
const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
console.log(`bench environment: schema ${env.DB_SCHEMA}, models ${env.MODELS_DIR}; demo exited with ${code}`);
process.exit(code ?? 1);
