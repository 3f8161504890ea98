/**
 * The package managers' dry-run readers on output shapes the tables' hosts do not print: apt's
 * upgrade and downgrade lines, and dnf 4's table with a name too long for its column (dnf wraps
 * the rest of the row onto the next line at 80 columns). The dnf text is written in dnf 4's
 * layout for this test, not captured from a dnf (the test hosts are Debian).
 */
import { describe, expect, it } from 'vitest';
import { readAptSimulation } from '../../../engine/modules/host/apt.js';
import { readDnfTable } from '../../../engine/modules/host/dnf.js';

describe('readAptSimulation', () => {
  it('reads Inst with the version replaced, Remv and Purg, errors and a downgrade', () => {
    const out = [
      'The following packages will be DOWNGRADED:',
      '  tsplay-probe',
      'Inst tsplay-probe [2.0] (1.0 localhost [all])',
      'Inst libonig5 (6.9.8-1 Debian:12.11/stable [amd64])',
      'Conf libonig5 (6.9.8-1 Debian:12.11/stable [amd64])',
      'Remv jq [1.6-2.1]',
      'Purg socat [1.7.4.4-2]',
    ];
    expect(readAptSimulation(out, 0)).toEqual({
      install: [{ name: 'tsplay-probe', version: '1.0', replacing: '2.0' }, { name: 'libonig5', version: '6.9.8-1' }],
      remove: [{ name: 'jq', version: '1.6-2.1' }, { name: 'socat', version: '1.7.4.4-2' }],
      errors: [],
      downgrade: true,
    });
  });

  it('a failing simulation without an E: line still fails', () => {
    expect(readAptSimulation(['Segmentation fault'], 139).errors).toEqual(['apt-get -s exited 139: Segmentation fault']);
  });
});

describe('readDnfTable', () => {
  it('reads every section, a wrapped long name, and skips the summary', () => {
    const out = [
      'Last metadata expiration check: 0:12:03 ago on Tue 02 Dec 2025 06:00:00 AM UTC.',
      'Dependencies resolved.',
      '================================================================================',
      ' Package                Architecture  Version              Repository     Size',
      '================================================================================',
      'Installing:',
      ' jq                     x86_64        1.6-15.el9           appstream     186 k',
      'Upgrading:',
      ' socat                  x86_64        1.7.4.1-6.el9        appstream     302 k',
      'Installing dependencies:',
      ' python3-a-rather-long-package-name',
      '                        noarch        2.1-3.el9            appstream      20 k',
      '',
      'Transaction Summary',
      '================================================================================',
      'Install  2 Packages',
      '',
      'Operation aborted.',
    ];
    expect(readDnfTable(out)).toEqual({
      install: [
        { name: 'jq', version: '1.6-15.el9' },
        { name: 'socat', version: '1.7.4.1-6.el9' },
        { name: 'python3-a-rather-long-package-name', version: '2.1-3.el9' },
      ],
      remove: [],
      errors: [],
      downgrade: false,
    });
  });

  it('removals, and errors', () => {
    expect(readDnfTable(['Removing:', ' jq  x86_64  1.6-15.el9  @appstream  400 k', 'Removing unused dependencies:', ' oniguruma  x86_64  6.9.6-1.el9.5  @appstream  600 k', '']).remove).toEqual([
      { name: 'jq', version: '1.6-15.el9' },
      { name: 'oniguruma', version: '6.9.6-1.el9.5' },
    ]);
    expect(readDnfTable(['No match for argument: nosuch', 'Error: Unable to find a match: nosuch']).errors).toEqual(['No match for argument: nosuch', 'Error: Unable to find a match: nosuch']);
  });
});
