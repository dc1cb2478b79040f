/**
 * The one catalogue of Ascend's error codes. Codes are stable: scripts match on them.
 * Every code here is documented in docs/errors.md (a test checks it).
 */
export const ERROR_CODES = {
  // Registry.pol (MS-GPREG) codec
  ASC_POL_BAD_SIGNATURE: 'The file does not start with the Registry.pol signature "PReg".',
  ASC_POL_BAD_VERSION: 'The Registry.pol header names a version other than 1.',
  ASC_POL_TRUNCATED: 'The file ends inside a header or an entry.',
  ASC_POL_BAD_DELIMITER: 'An entry lacks one of its delimiters "[", ";" or "]".',
  ASC_POL_SIZE_BEYOND_END: "An entry's declared data size runs past the end of the file.",
  ASC_POL_ODD_UTF16: 'A string value has an odd number of bytes, which UTF-16 cannot hold.',
  ASC_POL_BAD_DATA_SIZE: 'A REG_DWORD or REG_QWORD value does not have 4 or 8 bytes of data.',
  ASC_POL_TRAILING_BYTES: 'Bytes follow the last entry that do not form an entry.',
  ASC_POL_TOO_LARGE: 'The file is larger than the size cap (16 MiB unless set otherwise).',
  ASC_POL_BAD_ENTRY: 'An entry given to the writer cannot be written (bad key, value name, type or data).',
  // Catalog and policy values
  ASC_POLICY_UNKNOWN: 'No policy in the catalog has that id.',
  ASC_POLICY_BAD_STATE: 'The state is not one of enabled, disabled or not-configured.',
  ASC_POLICY_BAD_VALUE: 'An element value is missing, of the wrong kind, or out of range.',
  ASC_POLICY_UNKNOWN_ELEMENT: 'The policy has no element of that name.',
  // ADMX/ADML
  ASC_ADMX_INVALID: 'An ADMX or ADML file is not well-formed or lacks what a policy needs.',
  ASC_ADMX_DRIFT: 'The committed ADMX/ADML files differ from what the catalog generates.',
  // Files and command line
  ASC_FILE_NOT_FOUND: 'A file named on the command line does not exist.',
  ASC_FILE_UNREADABLE: 'A file could not be read or written.',
  ASC_USAGE: 'The command line is incomplete or malformed.',
  ASC_INTERNAL: 'An unexpected failure inside Ascend; please report it.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base of every error Ascend raises on purpose; `code` is from ERROR_CODES. */
export class AscendError extends Error {
  readonly code: ErrorCode;
  /** A next step for the user, shown after the message by the CLI. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AscendError';
    this.code = code;
    this.hint = options?.hint;
  }
}

export function isAscendError(e: unknown): e is AscendError {
  return e instanceof AscendError;
}
