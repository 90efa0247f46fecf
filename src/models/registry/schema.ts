// Runtime validation of manifest.json. The TypeScript types in ../manifest-types.ts are the contract;
// this schema checks that a file on disk (possibly written by an older or newer release, or edited by
// hand) really has that shape before any loader trusts it.
import { z } from 'zod';
import type { Manifest, ManifestEntry, ModelRole } from '../manifest-types.js';

export const MODEL_ROLES = ['text-encoder', 'image-encoder', 'classifier'] as const satisfies readonly ModelRole[];

const tensorSpec = z.object({
  name: z.string().min(1),
  type: z.string().min(1),
  shape: z.array(z.union([z.number().int(), z.string()])),
});

const manifestFile = z.object({
  path: z
    .string()
    .min(1)
    .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'must be a path inside MODELS_DIR'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex sha256'),
  bytes: z.number().int().min(0),
});

// passthrough() keeps fields added by newer releases instead of silently dropping them on rewrite.
export const manifestEntrySchema = z
  .object({
    role: z.enum(MODEL_ROLES),
    name: z.string().min(1),
    version: z.string().min(1),
    runtime: z.enum(['onnxruntime', 'transformers.js']),
    files: z.array(manifestFile).min(1),
    inputs: z.array(tensorSpec),
    outputs: z.array(tensorSpec),
    preprocessing: z.record(z.string(), z.unknown()),
    classes: z.array(z.object({ code: z.number().int(), name: z.string() })).optional(),
    embeddingDim: z.number().int().positive().optional(),
    createdAt: z.string().min(1),
    notes: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

export const manifestSchema = z
  .object({
    schemaVersion: z.literal(1),
    current: z.object({
      'text-encoder': z.string().optional(),
      'image-encoder': z.string().optional(),
      classifier: z.string().optional(),
    }),
    models: z.array(manifestEntrySchema),
  })
  .passthrough();

/** Human-readable list of zod problems, one per line. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

// Compile-time check that whatever the schema accepts satisfies the contract.
type Parsed = z.infer<typeof manifestSchema>;
type ParsedEntry = z.infer<typeof manifestEntrySchema>;
const _toContract = (m: Parsed): Manifest => m;
const _entryToContract = (e: ParsedEntry): ManifestEntry => e;
void _toContract;
void _entryToContract;
