// Validates SARIF logs against the SARIF 2.1.0 JSON schema shipped in fixtures/ (see
// fixtures/README.md for where it comes from). The file is kept byte for byte as published;
// this loader adapts it to ajv 8 without changing what it accepts:
//   - it is a draft-04 schema and ajv 8 speaks draft-07: the two differ only in keywords this
//     schema does not use (no boolean exclusiveMinimum/Maximum), so it is compiled as draft-07
//     with its top-level "id" read as "$id";
//   - one published pattern ("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$", for language tags) is
//     invalid under the regex u flag, so patterns are compiled without it (unicodeRegExp: false);
//   - ajv ships no format checkers; uri, uri-reference and date-time are checked here.
import Ajv, { type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';

const SCHEMA_FILE = new URL('./fixtures/sarif-schema-2.1.0.json', import.meta.url);

// RFC 3986 characters; anything else (spaces, <, >, backslashes) must be percent-encoded.
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

export function isUri(s: string): boolean {
  return URI_CHARS.test(s) && !BAD_PERCENT.test(s) && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(s) && URL.canParse(s);
}

export function isUriReference(s: string): boolean {
  if (!URI_CHARS.test(s) || BAD_PERCENT.test(s)) return false;
  // A relative reference whose first segment has a colon would read as a scheme.
  const firstSegment = s.split(/[/?#]/)[0];
  if (firstSegment.includes(':') && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(s)) return false;
  return URL.canParse(s, 'file:///base/');
}

function isDateTime(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s) && !Number.isNaN(Date.parse(s));
}

let validator: ValidateFunction | undefined;

export function sarifValidator(): ValidateFunction {
  if (validator) return validator;
  const { id, $schema: _draft04, ...rest } = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
  const ajv = new (Ajv as unknown as typeof Ajv.default)({ allErrors: true, unicodeRegExp: false });
  ajv.addFormat('uri', isUri);
  ajv.addFormat('uri-reference', isUriReference);
  ajv.addFormat('date-time', isDateTime);
  validator = ajv.compile({ $schema: 'http://json-schema.org/draft-07/schema#', $id: id, ...rest });
  return validator;
}

/** The schema's errors as readable lines; [] when the log is valid SARIF 2.1.0. */
export function sarifErrors(log: unknown): string[] {
  const validate = sarifValidator();
  return validate(log) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}
