import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogueFileError, readCsvRecords } from './csv-records.js';
import type { CsvItem } from './csv-records.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'csv-records-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const header = ['a', 'b', 'c'];

async function read(name: string, content: string | Buffer): Promise<CsvItem[]> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  const items: CsvItem[] = [];
  for await (const item of readCsvRecords(file, { header })) items.push(item);
  return items;
}

describe('readCsvRecords', () => {
  it('ends records only at \\n and keeps bare \\r inside and outside quotes as line breaks', async () => {
    const items = await read(
      'cr.csv',
      ',a,b,c\n' +
        '0,unquoted\rtext,"quoted\rtext",x\n' +
        '1,"closing quote then cr"\r,"b",c\r\n' +
        '2,\r"cr before opening quote",b,"last"\r\n' +
        '3,"multi\nline",b,c\n',
    );
    expect(items).toEqual([
      { kind: 'record', line: 2, fields: ['0', 'unquoted\ntext', 'quoted\ntext', 'x'] },
      { kind: 'record', line: 3, fields: ['1', 'closing quote then cr', 'b', 'c'] },
      { kind: 'record', line: 4, fields: ['2', 'cr before opening quote', 'b', 'last'] },
      { kind: 'record', line: 5, fields: ['3', 'multi\nline', 'b', 'c'] },
    ]);
  });

  it('drops NUL characters, which Postgres would refuse for the whole chunk of rows', async () => {
    const items = await read('nul.csv', Buffer.from(',a,b,c\n0,So\u0000fa,y,z\n'));
    expect(items).toEqual([{ kind: 'record', line: 2, fields: ['0', 'Sofa', 'y', 'z'] }]);
  });

  it('reads CRLF files and a UTF-8 byte order mark', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const items = await read('crlf.csv', Buffer.concat([bom, Buffer.from(',a,b,c\r\n0,x,y,z\r\n1,"p, q",r,s\r\n')]));
    expect(items).toEqual([
      { kind: 'record', line: 2, fields: ['0', 'x', 'y', 'z'] },
      { kind: 'record', line: 3, fields: ['1', 'p, q', 'r', 's'] },
    ]);
  });

  it('passes records with the wrong number of fields on, for the row layer to reject', async () => {
    const items = await read('count.csv', ',a,b,c\n0,x,y\n1,x,y,z,extra\n2,x,y,z');
    expect(items.map((i) => (i.kind === 'wrong-width' ? [i.line, i.got, i.want] : i.kind === 'record' ? [i.line, i.fields.length] : i.kind))).toEqual([
      [2, 3, 4],
      [3, 5, 4],
      [4, 4],
    ]);
  });

  it('reads columns by name: another order, extra columns and no index column all work', async () => {
    expect(await read('reordered.csv', 'c,extra,a,,b\nz,w,x,0,y\n')).toEqual([{ kind: 'record', line: 2, fields: ['0', 'x', 'y', 'z'] }]);
    expect(await read('no-index.csv', 'a,b,c\nx,y,z\n')).toEqual([{ kind: 'record', line: 2, fields: ['', 'x', 'y', 'z'] }]);
    expect(await read('extra-width.csv', ',a,b,c,d\n0,x,y,z\n')).toMatchObject([{ kind: 'wrong-width', line: 2, got: 4, want: 5 }]);
  });

  it('turns broken quoting into an unparsable item for its line and carries on', async () => {
    const items = await read('quotes.csv', ',a,b,c\n0,ok,ok,ok\n1,"bad"x,y,z\n2,k,"multi\nline",v\n3,ok,ok,ok\n');
    expect(items[0]).toEqual({ kind: 'record', line: 2, fields: ['0', 'ok', 'ok', 'ok'] });
    expect(items[1]).toMatchObject({ kind: 'unparsable', line: 3, endLine: 3 });
    expect(items[1]?.kind === 'unparsable' && items[1].reason).toMatch(/^This record is not valid CSV and was skipped; check the quoting\. csv-parse said: Invalid Closing Quote/);
    expect(items[2]).toEqual({ kind: 'record', line: 4, fields: ['2', 'k', 'multi\nline', 'v'] });
    expect(items[3]).toEqual({ kind: 'record', line: 6, fields: ['3', 'ok', 'ok', 'ok'] });
    expect(items).toHaveLength(4);
  });

  it('a broken record spanning lines costs only its first line: the lines it swallowed are read again', async () => {
    const items = await read('swallow.csv', ',a,b,c\n0,"one\n1,ok,ok,ok\n2,"x"y,ok,ok\n3,ok,ok,ok\n');
    expect(items.map((i) => (i.kind === 'record' ? [i.line, i.fields[0]] : i.kind === 'unparsable' ? [i.kind, i.line, i.endLine] : [i.kind]))).toEqual([
      ['unparsable', 2, 2],
      [3, '1'],
      ['unparsable', 4, 4],
      [5, '3'],
    ]);
    expect(items[0]?.kind === 'unparsable' && items[0].reason).toMatch(/^The record starting on line 2 is not valid CSV .*reading carried on at line 3/);
  });

  it('a quote closed too early costs only its own record, also when the next records have no quotes', async () => {
    // csv-parse stays "inside quotes" after an Invalid Closing Quote, which swallowed every record up to
    // the next quote character: here, the rest of the file.
    const items = await read('early-close.csv', ',a,b,c\n0,ok,ok,ok\n1,"5"x,y,z\n2,ok,ok,ok\n3,ok,ok,ok\n');
    expect(items.map((i) => (i.kind === 'record' ? [i.line, i.fields[0]] : [i.kind, i.line]))).toEqual([
      [2, '0'],
      ['unparsable', 3],
      [4, '2'],
      [5, '3'],
    ]);
  });

  it('an opening quote never closed costs only its own line: reading carries on at the next line', async () => {
    const items = await read('unclosed-mid.csv', ',a,b,c\n0,ok,ok,ok\n1,"never closed,y,z\n2,ok,ok,ok\n3,"q",ok,ok\n');
    expect(items.map((i) => (i.kind === 'record' ? [i.line, i.fields[0]] : [i.kind, i.line]))).toEqual([
      [2, '0'],
      ['unparsable', 3],
      [4, '2'],
      [5, '3'],
    ]);
    expect(items[1]?.kind === 'unparsable' && items[1].reason).toMatch(/line 3 .*reading carried on at line 4/);
  });

  it('reads the file it opened to its end, passes after an unclosed quote included, when a new file replaces it meanwhile', async () => {
    const file = path.join(dir, 'replaced.csv');
    await writeFile(file, ',a,b,c\n0,old,ok,ok\n1,"never closed,y,z\n2,old,ok,ok\n');
    const records = readCsvRecords(file, { header });
    const first = await records.next();
    expect(first.value).toMatchObject({ kind: 'record', fields: ['0', 'old', 'ok', 'ok'] });
    // A new export is renamed into place while the backfill is still reading (and before its resume pass).
    const next = path.join(dir, 'replaced.next.csv');
    await writeFile(next, ',a,b,c\n0,new,ok,ok\n1,new,ok,ok\n2,new,ok,ok\n3,new,ok,ok\n');
    await rename(next, file);
    const rest: CsvItem[] = [];
    for await (const item of { [Symbol.asyncIterator]: () => records }) rest.push(item);
    expect(rest.map((i) => (i.kind === 'record' ? [i.line, i.fields[1]] : [i.kind, i.line]))).toEqual([
      ['unparsable', 3],
      [4, 'old'],
    ]);
  });

  it('reports an unclosed quote at the end of the file', async () => {
    const items = await read('unclosed.csv', ',a,b,c\n0,ok,ok,ok\n1,"never closed,y,z\n');
    expect(items[1]).toMatchObject({ kind: 'unparsable', line: 3, endLine: 3 });
    expect(items[1]?.kind === 'unparsable' && items[1].reason).toMatch(/Quote Not Closed/);
  });

  it('reports blank lines separately', async () => {
    const items = await read('blank.csv', ',a,b,c\n\n0,x,y,z\n   \n');
    expect(items).toEqual([
      { kind: 'blank', line: 2 },
      { kind: 'record', line: 3, fields: ['0', 'x', 'y', 'z'] },
      { kind: 'blank', line: 4 },
    ]);
  });

  it('throws for a wrong header, an empty file and a missing file', async () => {
    await expect(read('header.csv', ',x,y,z\n0,1,2,3\n')).rejects.toThrow(/does not have the expected header \(no a, b, c column\)/);
    await expect(read('twice.csv', ',a,b,c,a\n0,1,2,3,4\n')).rejects.toThrow(/\(a more than once\)/);
    await expect(read('empty.csv', '')).rejects.toThrow(/is empty/);
    const missing = readCsvRecords(path.join(dir, 'nope.csv'), { header });
    await expect(missing.next()).rejects.toThrow(CatalogueFileError);
  });

  it('skips a record past the size limit (an unclosed quote in a quote-free file) and reads on, not ending the run', async () => {
    const file = path.join(dir, 'huge.csv');
    const rows = Array.from({ length: 200 }, (_, i) => `${i + 1},row${i + 1},y,z\n`).join('');
    await writeFile(file, `,a,b,c\n0,"stray quote,y,z\n${rows}`);
    const items: CsvItem[] = [];
    for await (const item of readCsvRecords(file, { header, maxRecordChars: 1000 })) items.push(item);
    expect(items[0]).toMatchObject({ kind: 'unparsable', line: 2, endLine: 2 });
    expect(items.slice(1).map((i) => (i.kind === 'record' ? i.line : i.kind))).toEqual(Array.from({ length: 200 }, (_, i) => i + 3));
  });

  it('gives up with a clear error when the header itself opens a quote that never closes', async () => {
    await expect(read('bad-header.csv', ',a,"b,c\n0,x,y,z\n')).rejects.toThrow(/header line .* quote that is never closed/);
  });
});
