import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REAL_NAMESPACE = 'http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions';
// The namespace the published XSD declares; files are rewritten to it only for validation.
const XSD_NAMESPACE = 'http://www.microsoft.com/GroupPolicy/PolicyDefinitions';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** PolicyDefinitionFiles.xsd (validates both ADMX and ADML); ASCEND_ADMX_SCHEMA_DIR overrides the folder. */
export const ADMX_SCHEMA = path.join(
  process.env.ASCEND_ADMX_SCHEMA_DIR ?? path.resolve(repoRoot, '..', 'shared', 'admx-schema'),
  'PolicyDefinitionFiles.xsd',
);

export function admxSchemaAvailable(): boolean {
  return existsSync(ADMX_SCHEMA);
}

export interface SchemaVerdict {
  readonly valid: boolean;
  /** xmllint's complaints (empty when valid). */
  readonly errors: string;
}

/** Validates an ADMX or ADML document with xmllint against Microsoft's schema. */
export function validateAdmxSchema(xml: string): SchemaVerdict {
  const input = xml.split(REAL_NAMESPACE).join(XSD_NAMESPACE);
  const r = spawnSync('xmllint', ['--noout', '--schema', ADMX_SCHEMA, '-'], { input, encoding: 'utf8' });
  if (r.error) throw r.error;
  const valid = r.status === 0;
  return { valid, errors: valid ? '' : r.stderr.trim() };
}
