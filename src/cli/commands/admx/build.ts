import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { AscendCommand } from '../../base-command.js';
import { AscendError } from '../../../errors.js';
import { ASCEND_CATALOG } from '../../../catalog/index.js';
import { writeAdmx } from '../../../formats/admx/index.js';
import { writeFileAtomic } from '../../../local-policy/index.js';

export interface AdmxBuildResult {
  files: { path: string; bytes: number; changed: boolean }[];
  checked: boolean;
}

export default class AdmxBuild extends AscendCommand<AdmxBuildResult> {
  static override summary = 'Generate Ascend.admx and en-US/Ascend.adml from the settings catalog.';
  static override description =
    'Writes the administrative template GPMC reads: copy Ascend.admx and the en-US folder into the Central Store ' +
    '(\\\\DOMAIN\\SYSVOL\\DOMAIN\\Policies\\PolicyDefinitions). With --check nothing is written: the command fails when the files ' +
    'in the folder differ from what the catalog generates (the build runs it so committed templates never drift).';
  static override examples = ['<%= config.bin %> admx build', '<%= config.bin %> admx build --out /tmp/templates', '<%= config.bin %> admx build --check'];
  static override flags = {
    out: Flags.string({ description: 'folder to write into', default: 'admx' }),
    check: Flags.boolean({ description: 'only compare the folder with what the catalog generates', default: false }),
  };

  async run(): Promise<AdmxBuildResult> {
    const { flags } = await this.parse(AdmxBuild);
    const { admx, adml } = writeAdmx(ASCEND_CATALOG);
    const targets: [string, string][] = [
      [path.join(flags.out, 'Ascend.admx'), admx],
      [path.join(flags.out, 'en-US', 'Ascend.adml'), adml],
    ];
    const files: AdmxBuildResult['files'] = [];
    for (const [file, text] of targets) {
      const current = await fs.readFile(file, 'utf8').catch(() => undefined);
      const changed = current !== text;
      if (flags.check && changed) {
        throw new AscendError('ASC_ADMX_DRIFT', `${file} ${current === undefined ? 'is missing' : 'differs from what the catalog generates'}`, {
          hint: 'run "npx ascend admx build" and commit the result',
        });
      }
      if (!flags.check && changed) {
        await fs.mkdir(path.dirname(file), { recursive: true });
        await writeFileAtomic(file, Buffer.from(text, 'utf8'));
      }
      files.push({ path: file, bytes: Buffer.byteLength(text), changed });
    }
    for (const f of files) this.say(`${flags.check ? 'up to date' : f.changed ? 'wrote' : 'unchanged'}: ${f.path} (${f.bytes} bytes)`);
    return { files, checked: flags.check };
  }
}
