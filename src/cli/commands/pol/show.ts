import { Args } from '@oclif/core';
import { AscendCommand, table } from '../../base-command.js';
import { entryToJson, type JsonEntry } from '../../../formats/registry-pol/index.js';
import { readPolFile } from '../../../local-policy/index.js';

export interface PolShowResult {
  entries: JsonEntry[];
}

export default class PolShow extends AscendCommand<PolShowResult> {
  static override summary = 'Show the raw entries of a Registry.pol file.';
  static override description =
    'Lists every [key;value;type;size;data] entry in file order, including delete markers (**del., **delvals.) and the entries of other products. ' +
    'With --json: {"entries":[{"key","value","type","data"}]}, data being text for REG_SZ/REG_EXPAND_SZ, a number for REG_DWORD, ' +
    'a decimal string for REG_QWORD, an array for REG_MULTI_SZ and lowercase hex otherwise.';
  static override examples = ['<%= config.bin %> pol show Machine/Registry.pol', '<%= config.bin %> pol show Registry.pol --json'];
  static override args = { file: Args.string({ description: 'Registry.pol file', required: true }) };

  async run(): Promise<PolShowResult> {
    const { args } = await this.parse(PolShow);
    const entries = (await readPolFile(args.file)).map(entryToJson);
    if (entries.length === 0) this.say(`${args.file}: no entries`);
    else this.say(table([['KEY', 'VALUE', 'TYPE', 'DATA'], ...entries.map((e) => [e.key, e.value, e.type, JSON.stringify(e.data)])]));
    return { entries };
  }
}
