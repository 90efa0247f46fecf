// Pure helpers of the storage module: no database needed.
import { describe, expect, it } from 'vitest';
import { assertUniqueKeys, chunk, countsByKey, valuesPlaceholders } from './batch.js';
import { DbUnavailableError, redactUrl, translateConnectionError } from './errors.js';
import { checkMigrationFileNames, migrationLockKey } from './migrate.js';
import { fromArraySend, parseFloat4Array, toArrayRecv } from './vectors.js';

describe('vectors', () => {
  it('round-trips float32 values exactly through the text form', () => {
    const v = Float32Array.from([0.1, -2.5, 1e-7, 3.4e38, 0]);
    expect(fromArraySend(toArrayRecv(v, 'v'))).toEqual(v);
    expect(fromArraySend(toArrayRecv([1, -0.5], 'v'))).toEqual(Float32Array.from([1, -0.5]));
    expect(parseFloat4Array('{0.1,-2.5,1e-07}')).toEqual(Float32Array.from([0.1, -2.5, 1e-7]));
    expect(parseFloat4Array('{}')).toEqual(new Float32Array(0));
  });

  it("decodes Postgres' binary array form", () => {
    // array_send('{1.5,-2}'::real[]): ndim 1, no nulls, oid 700, size 2, lbound 1, then (len 4, value) pairs.
    const buf = Buffer.alloc(36);
    [1, 0, 700, 2, 1].forEach((v, i) => buf.writeInt32BE(v, i * 4));
    buf.writeInt32BE(4, 20); buf.writeFloatBE(1.5, 24); buf.writeInt32BE(4, 28); buf.writeFloatBE(-2, 32);
    expect(fromArraySend(buf)).toEqual(Float32Array.from([1.5, -2]));
    expect(fromArraySend(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 188]))).toEqual(new Float32Array(0));
    buf.writeInt32BE(-1, 28);
    expect(() => fromArraySend(buf)).toThrow(/NULL at index 1/);
    buf.writeInt32BE(701, 8);
    expect(() => fromArraySend(buf)).toThrow(/type oid 701/);
  });

  it('rejects vectors a model should never produce', () => {
    expect(() => toArrayRecv([], 'The embedding of a')).toThrow(/empty vector/);
    expect(() => toArrayRecv([1, Number.POSITIVE_INFINITY], 'The embedding of a')).toThrow(/non-finite value \(Infinity\) at index 1/);
    expect(() => toArrayRecv([Number.NaN], 'x')).toThrow(/non-finite value \(NaN\) at index 0/);
    expect(() => parseFloat4Array('{1,NULL}')).toThrow(/without NULLs/);
    expect(() => parseFloat4Array('{{1},{2}}')).toThrow(/flat vector/);
    expect(() => parseFloat4Array('1,2')).toThrow(/real\[\] literal/);
  });
});

describe('batch helpers', () => {
  it('chunks, checks keys, numbers placeholders and fills missing counts', () => {
    expect(valuesPlaceholders(2, ['text', 'real[]'], 2)).toBe('($2::text, $3::real[]), ($4::text, $5::real[])');
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
    expect(() => assertUniqueKeys(['a', 'b', 'a'], 'Listing id')).toThrow('Listing id "a" appears twice in one batch');
    expect(countsByKey(['x', 'y'] as const, [{ key: 'y', count: 3 }, { key: 'zzz', count: 1 }])).toEqual({ x: 0, y: 3 });
  });
});

describe('connection errors', () => {
  const url = 'postgres://app:hunter2@db.example:5432/pipeline';

  it('redacts passwords', () => {
    expect(redactUrl(url)).toBe('postgres://app@db.example:5432/pipeline');
    expect(redactUrl('not a url')).not.toContain('not a url');
  });

  it('explains refused connections, including the AggregateError form', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const aggregate = Object.assign(new AggregateError([refused, refused]), { code: 'ECONNREFUSED' });
    for (const err of [refused, new AggregateError([refused])]) {
      const out = translateConnectionError(err, url);
      expect(out).toBeInstanceOf(DbUnavailableError);
      expect((out as Error).message).toContain('postgres://app@db.example:5432/pipeline');
      expect((out as Error).message).not.toContain('hunter2');
      expect((out as Error).message).toContain('docker compose up -d postgres');
      expect((out as Error).cause).toBe(err);
    }
    expect(translateConnectionError(aggregate, url)).toBeInstanceOf(DbUnavailableError);
    expect((translateConnectionError(Object.assign(new Error('x'), { code: '3D000' }), url) as Error).message).toMatch(/database does not exist/);
  });

  it('passes other errors through unchanged', () => {
    const syntax = Object.assign(new Error('syntax error'), { code: '42601' });
    expect(translateConnectionError(syntax, url)).toBe(syntax);
  });
});

describe('migration files', () => {
  it('accepts NNNN_name.sql files in order and ignores other files', () => {
    expect(checkMigrationFileNames(['0002_b.sql', 'README.md', '0001_init.sql'])).toEqual(['0001_init.sql', '0002_b.sql']);
  });

  it('rejects misnamed files and reused numbers', () => {
    expect(() => checkMigrationFileNames(['0001_init.sql', '2_x.sql'])).toThrow(/"2_x.sql" is misnamed/);
    expect(() => checkMigrationFileNames(['0001_init.sql', '0001_other.sql'])).toThrow(/share the number 0001/);
    expect(() => checkMigrationFileNames(['README.md'])).toThrow(/no NNNN_name.sql files/);
  });

  it('uses a different, exact advisory lock key per schema', () => {
    const a = migrationLockKey('public');
    expect(Number.isSafeInteger(a)).toBe(true);
    expect(migrationLockKey('public')).toBe(a);
    expect(migrationLockKey('test_abc')).not.toBe(a);
  });
});
