/** The user's text files: UTF-8 or an error at the first bad byte; size bounded before reading. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Diagnostics } from '../../engine/errors.js';
import { loadYamlFile } from '../../engine/load/yaml-file.js';
import { decodeUtf8, TEXT_FILE_MAX, TextFileError } from '../../engine/text.js';

const dir = mkdtempSync(join(tmpdir(), 'tsplay-text-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const placeOf = (bytes: number[]): unknown => {
  try {
    decodeUtf8(Buffer.from(bytes), 'f');
  } catch (err) {
    if (err instanceof TextFileError) return err.place;
    throw err;
  }
  return 'decoded';
};

describe('decodeUtf8', () => {
  it('decodes UTF-8, multi-byte characters included', () => {
    expect(decodeUtf8(Buffer.from('café ✓ 🚀\n', 'utf8'), 'f')).toBe('café ✓ 🚀\n');
  });
  it('names the line and column of the first byte that is not UTF-8', () => {
    const a = [...Buffer.from('ok\nab')];
    expect(placeOf([...a, 0xe9, 0x0a])).toEqual({ file: 'f', line: 2, col: 3 }); // Latin-1 é
    expect(placeOf([...a, 0xc0, 0xaf])).toEqual({ file: 'f', line: 2, col: 3 }); // overlong /
    expect(placeOf([...a, 0xed, 0xa0, 0x80])).toEqual({ file: 'f', line: 2, col: 3 }); // a UTF-16 surrogate
    expect(placeOf([...Buffer.from('é✓x'), 0xe2, 0x9c])).toEqual({ file: 'f', line: 1, col: 4 }); // cut short at the end
    expect(placeOf([0xef, 0xbf, 0xbd])).toBe('decoded'); // a real U+FFFD is text
  });
});

describe('YAML files', () => {
  it(`a file over ${TEXT_FILE_MAX / 1048576} MiB is refused before it is parsed`, () => {
    const file = join(dir, 'huge.yml');
    writeFileSync(file, `big: "${'x'.repeat(TEXT_FILE_MAX)}"\n`);
    const diags = new Diagnostics();
    expect(loadYamlFile(file, diags)).toBeUndefined();
    expect(diags.items).toHaveLength(1);
    expect(diags.items[0]).toMatchObject({ place: { file, line: 1, col: 1 }, message: expect.stringMatching(/is 16\.0 MiB, more than the 16 MiB/) });
  });
  it('Latin-1 text is an error at its line, not U+FFFD in the value', () => {
    const file = join(dir, 'latin1.yml');
    writeFileSync(file, Buffer.concat([Buffer.from('a: 1\ncity: M'), Buffer.from([0xfc]), Buffer.from('nchen\n')]));
    const diags = new Diagnostics();
    expect(loadYamlFile(file, diags)).toBeUndefined();
    expect(diags.items[0]).toMatchObject({ place: { file, line: 2, col: 8 }, message: expect.stringContaining('not UTF-8 text: byte 0xfc') });
  });
});
