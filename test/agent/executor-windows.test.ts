import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { WindowsExecutor, powershell, type PowerShellHost } from '../../agent/executor/index.js';

const { psQuote, winQuoteArg, winCommandLine, encodeCommand, powershellArgs, createUserScript, runScript, removeUserScript } = powershell;

// Pure builders and the adapter's flow against a double of PowerShell; untested on real Windows.
describe('Windows executor: PowerShell builders', () => {
  it('quotes a value with a quote and a $ as a literal', () => {
    expect(psQuote("it's $HOME")).to.equal("'it''s $HOME'");
    expect(psQuote('$(Remove-Item C:\\ -Recurse)')).to.equal("'$(Remove-Item C:\\ -Recurse)'");
    expect(psQuote('`n')).to.equal("'`n'");
    expect(psQuote('a\u2019b')).to.equal("'a\u2019\u2019b'"); // PowerShell takes ’ as a single quote too
    expect(() => psQuote('a\0b')).to.throw(/NUL/);
  });

  it('quotes arguments for a Windows command line (CommandLineToArgvW rules)', () => {
    expect(winQuoteArg('plain')).to.equal('plain');
    expect(winQuoteArg('')).to.equal('""');
    expect(winQuoteArg('two words')).to.equal('"two words"');
    expect(winQuoteArg('say "hi"')).to.equal('"say \\"hi\\""');
    expect(winQuoteArg('C:\\dir with space\\')).to.equal('"C:\\dir with space\\\\"');
    expect(winQuoteArg('a\\"b')).to.equal('"a\\\\\\"b"');
    expect(winCommandLine(['/c', "it's $x", 'a b'])).to.equal('/c "it\'s $x" "a b"');
  });

  it('puts an argument with a quote and a $ into the run script only as a literal', () => {
    const script = runScript({ account: 'ascend_0123456789ab', program: 'C:\\Windows\\System32\\cmd.exe', args: ['/c', "echo it's $env:SECRET"], cwd: 'C:\\Users\\me', env: { TERM: "x'$y" } });
    expect(script).to.include(`$psi.Arguments = '/c "echo it''s $env:SECRET"'`);
    expect(script).to.include(`$psi.EnvironmentVariables['TERM'] = 'x''$y'`);
    expect(script).to.include(`$psi.UserName = 'ascend_0123456789ab'`);
    expect(script).to.not.match(/Password = '/); // the password comes from the environment, never the script
  });

  it('creates the account with the admin SID and removes it with its profile', () => {
    const s = createUserScript("ascend_x'y", 'ascend-eph abc', ['S-1-5-32-544', 'Remote Desktop Users']);
    expect(s).to.include("New-LocalUser -Name 'ascend_x''y' -Password $pw -Description 'ascend-eph abc'");
    expect(s).to.include("Add-LocalGroupMember -SID 'S-1-5-32-544' -Member 'ascend_x''y'");
    expect(s).to.include("Add-LocalGroupMember -Group 'Remote Desktop Users' -Member 'ascend_x''y'");
    expect(removeUserScript('ascend_x')).to.include("Remove-LocalUser -Name 'ascend_x'");
  });

  it('encodes scripts as UTF-16LE Base64 for -EncodedCommand', () => {
    expect(Buffer.from(encodeCommand("'$é'"), 'base64').toString('utf16le')).to.equal("'$é'");
    expect(powershellArgs('x').slice(-2)).to.deep.equal(['-EncodedCommand', encodeCommand('x')]);
  });
});

describe('Windows executor: flow against a PowerShell double', () => {
  it('creates, runs, ends and removes the account; cleanup removes marked orphans only', async () => {
    const scripts: string[] = [];
    const host: PowerShellHost = {
      async run(script) {
        scripts.push(script);
        if (script.includes('Get-LocalUser | Where-Object')) {
          const name = exec.accountName('11111111-orphan');
          return { code: 0, stdout: JSON.stringify([{ Name: name, Description: 'ascend-eph 11111111-orphan', Created: new Date().toISOString() }, { Name: 'ascend_other', Description: 'ascend-eph nope', Created: '' }]), stderr: '' };
        }
        return { code: 0, stdout: '', stderr: '' };
      },
      spawn(script) {
        scripts.push(script);
        return spawn(process.execPath, ['-e', 'process.stdout.write("hello")'], { stdio: 'pipe' }) as ChildProcessWithoutNullStreams;
      },
    };
    const exec = new WindowsExecutor({ accountPrefix: 'ascend_', maxLifetimeMs: 60_000 }, host);
    const r = await exec.start({ elevationId: 'abc-123', requester: { uid: 1, gid: 1, name: 'me' }, command: ['C:\\x.exe', "a'$b"], cwd: 'C:\\Users\\me', groups: ['S-1-5-32-544', 'S-1-5-32-999'], integrity: 'High', stdio: 'pipe' });
    expect(r.account).to.match(/^ascend_[0-9a-f]{12}$/);
    expect(r.account?.length).to.be.at.most(20);
    expect(r.ignoredGroups).to.deep.equal(['S-1-5-32-999']);
    const done = await r.done;
    expect(done).to.include({ code: 0, accountRemoved: true });
    expect(scripts[0]).to.include('New-LocalUser');
    expect(scripts.at(-1)).to.include('Remove-LocalUser');
    scripts.length = 0;
    const report = await exec.cleanupOrphans(new Set());
    expect(report.removedAccounts).to.deep.equal([exec.accountName('11111111-orphan')]);
  });
});
