// MODELS_DIR/manifest.json: which models exist and which one serves each role. Writes go through a
// lock file plus write-to-temp-and-rename, so concurrent registrations never lose each other's entries
// and a reader never sees a half-written file.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest, ManifestEntry, ModelRole } from '../manifest-types.js';
import { ModelError } from './errors.js';
import { withFileLock } from './lock.js';
import { MODEL_ROLES, describeIssues, manifestEntrySchema, manifestSchema } from './schema.js';
import { verifyModelFiles } from './verify.js';

export const MANIFEST_FILE = 'manifest.json';

export function manifestPath(modelsDir: string): string {
  return path.join(modelsDir, MANIFEST_FILE);
}

export function emptyManifest(): Manifest {
  return { schemaVersion: 1, current: {}, models: [] };
}

/** Reads and validates the manifest; throws a ModelError saying what to run when it is missing or broken. */
export async function loadManifest(modelsDir: string): Promise<Manifest> {
  const file = manifestPath(modelsDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelError(
        'manifest-missing',
        `There is no model manifest at ${file}. Run \`npm run cli -- setup\` to train the offline models ` +
          '(no download needed), or `npm run cli -- models pull` to fetch the pretrained encoders, then retry.',
      );
    }
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelError(
      'manifest-invalid',
      `The model manifest ${file} is not valid JSON (${(err as Error).message}). Restore it from a backup, or delete it and run \`npm run cli -- setup\` again.`,
      { cause: err },
    );
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new ModelError(
      'manifest-invalid',
      `The model manifest ${file} does not match the expected format: ${describeIssues(parsed.error)}. ` +
        'Fix those fields, or delete the file and run `npm run cli -- setup` again.',
    );
  }
  const manifest = parsed.data as Manifest;
  for (const [role, version] of Object.entries(manifest.current)) {
    if (version !== undefined && !manifest.models.some((m) => m.version === version && m.role === role)) {
      throw new ModelError(
        'manifest-invalid',
        `The model manifest ${file} names ${version} as the current ${role} model, but has no ${role} entry with that version. ` +
          'Point `current` at a listed version (`npm run cli -- models use ...`) or re-register the model.',
      );
    }
  }
  return manifest;
}

async function loadOrEmpty(modelsDir: string): Promise<Manifest> {
  try {
    return await loadManifest(modelsDir);
  } catch (err) {
    if (err instanceof ModelError && err.code === 'manifest-missing') return emptyManifest();
    throw err;
  }
}

/** Atomic replace: temp file in the same directory, fsync, rename over the old one. */
export async function writeManifest(modelsDir: string, manifest: Manifest): Promise<void> {
  await mkdir(modelsDir, { recursive: true });
  const target = manifestPath(modelsDir);
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Runs fn on the current manifest under the lock and writes back what it returns. */
export async function updateManifest(modelsDir: string, fn: (m: Manifest) => Manifest): Promise<Manifest> {
  await mkdir(modelsDir, { recursive: true });
  return withFileLock(`${manifestPath(modelsDir)}.lock`, async () => {
    const next = fn(await loadOrEmpty(modelsDir));
    await writeManifest(modelsDir, next);
    return next;
  });
}

/**
 * Adds (or replaces, when the version already exists) a model entry. It becomes the served model for
 * its role only with `makeCurrent`; pulled encoders wait for an operator to switch them on.
 */
export async function registerModel(
  modelsDir: string,
  entry: ManifestEntry,
  options: { makeCurrent?: boolean } = {},
): Promise<Manifest> {
  const checked = manifestEntrySchema.safeParse(entry);
  if (!checked.success) {
    throw new ModelError(
      'manifest-invalid',
      `Refusing to register model ${entry.version}: the entry is malformed (${describeIssues(checked.error)}). This is a bug in the code that built it.`,
    );
  }
  return updateManifest(modelsDir, (m) => {
    const clash = m.models.find((e) => e.version === entry.version && e.role !== entry.role);
    if (clash) {
      throw new ModelError(
        'manifest-invalid',
        `Version ${entry.version} is already registered as a ${clash.role} model; give the new ${entry.role} model a different version string.`,
      );
    }
    const models = [...m.models.filter((e) => e.version !== entry.version), entry];
    const current = options.makeCurrent ? { ...m.current, [entry.role]: entry.version } : m.current;
    return { ...m, current, models };
  });
}

/**
 * Switches the served model of a role to an already registered version. Its files are checked first
 * (presence, size, sha256): running pools and the API follow the manifest within seconds, so pointing
 * it at a model they cannot load would stop them serving.
 */
export async function setCurrentModel(modelsDir: string, role: ModelRole, version: string): Promise<Manifest> {
  // Hashing can take seconds for a pulled encoder: done before taking the lock, then re-checked under it.
  const entry = findModel(await loadManifest(modelsDir), role, version);
  await verifyModelFiles(modelsDir, entry);
  return updateManifest(modelsDir, (m) => {
    const now = findModel(m, role, version);
    if (JSON.stringify(now.files) !== JSON.stringify(entry.files)) {
      throw new ModelError('manifest-invalid', `The ${role} model ${version} was re-registered while its files were being checked; run the command again.`);
    }
    return { ...m, current: { ...m.current, [role]: version } };
  });
}

function checkRole(role: string): asserts role is ModelRole {
  if (!(MODEL_ROLES as readonly string[]).includes(role)) {
    throw new ModelError('unknown-role', `"${role}" is not a model role; use one of ${MODEL_ROLES.join(', ')}.`);
  }
}

/** The entry with this version (and role); throws listing the known versions otherwise. */
export function findModel(manifest: Manifest, role: ModelRole, version: string): ManifestEntry {
  checkRole(role);
  const entry = manifest.models.find((m) => m.role === role && m.version === version);
  if (!entry) {
    const known = manifest.models.filter((m) => m.role === role).map((m) => m.version);
    throw new ModelError(
      'unknown-version',
      `There is no ${role} model with version "${version}" in the manifest. ` +
        (known.length > 0 ? `Registered ${role} versions: ${known.join(', ')}.` : `No ${role} model is registered; run \`npm run cli -- setup\` first.`),
    );
  }
  return entry;
}

/** The entry currently served for a role. */
export function currentModel(manifest: Manifest, role: ModelRole): ManifestEntry {
  checkRole(role);
  const version = manifest.current[role];
  if (version === undefined) {
    throw new ModelError(
      'no-current-model',
      `No ${role} model is marked current in the manifest. Run \`npm run cli -- setup\` to train the offline models, ` +
        `or register one and make it current with \`npm run cli -- models use ${role} <version>\`.`,
    );
  }
  return findModel(manifest, role, version);
}
