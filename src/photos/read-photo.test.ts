import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalPhoto } from './read-photo.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'read-photo-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readLocalPhoto', () => {
  it('reads a small file whole', async () => {
    const file = path.join(dir, 'small.jpg');
    await writeFile(file, Buffer.from('abc'));
    expect((await readLocalPhoto(file, 100)).toString()).toBe('abc');
  });

  it('reads at most one byte past the limit of a huge file (here a 3 GiB sparse file) instead of all of it', async () => {
    const file = path.join(dir, 'huge.jpg');
    const handle = await open(file, 'w');
    await handle.truncate(3 * 1024 ** 3);
    await handle.close();
    const bytes = await readLocalPhoto(file, 1000);
    expect(bytes.length).toBe(1001);
  });

  it('refuses a directory where the photo should be, for good (no retries)', async () => {
    const sub = path.join(dir, 'a-directory.jpg');
    await mkdir(sub);
    await expect(readLocalPhoto(sub, 1000)).rejects.toMatchObject({ name: 'PermanentJobError', code: 'not_a_file' });
  });

  it('refuses a named pipe without blocking on it', async () => {
    const fifo = path.join(dir, 'pipe.jpg');
    execFileSync('mkfifo', [fifo]);
    await expect(readLocalPhoto(fifo, 1000)).rejects.toMatchObject({ name: 'PermanentJobError', code: 'not_a_file' });
  }, 5000);

  it('reports a missing file as permanent', async () => {
    await expect(readLocalPhoto(path.join(dir, 'nope.jpg'), 1000)).rejects.toMatchObject({ name: 'PermanentJobError', code: 'missing_file' });
  });

  it('decodes file:// URLs (a space is %20 in the URL)', async () => {
    const file = path.join(dir, 'with space é.jpg');
    await writeFile(file, Buffer.from('xyz'));
    expect((await readLocalPhoto(pathToFileURL(file).href, 100)).toString()).toBe('xyz');
  });
});
