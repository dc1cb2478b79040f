/**
 * Distinguished names (RFC 4514): escaping attribute values for RDNs, and splitting a DN
 * into its RDNs without being fooled by escaped separators. Pure: no I/O.
 */

/**
 * Escapes a value for an RDN ("OU=<value>,DC=..."): `"` `+` `,` `;` `<` `>` `\` anywhere,
 * `#` or a space at the start and a space at the end get a backslash; NUL becomes `\00`
 * (RFC 4514 section 2.4). Nothing else is escaped, so the result matches how AD writes DNs.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  const chars = [...value];
  chars.forEach((ch, i) => {
    if (ch === '\0') out += '\\00';
    else if (ch === '"' || ch === '+' || ch === ',' || ch === ';' || ch === '<' || ch === '>' || ch === '\\') out += `\\${ch}`;
    else if (i === 0 && (ch === '#' || ch === ' ')) out += `\\${ch}`;
    else if (i === chars.length - 1 && ch === ' ') out += '\\ ';
    else out += ch;
  });
  return out;
}

/**
 * Splits a DN into its RDNs ("OU=a\,b,DC=x" → ["OU=a\,b", "DC=x"]), keeping escapes as they
 * are. Separators are unescaped commas (and semicolons, which older DNs use) outside quotes;
 * spaces after a separator are dropped. The empty DN (the RootDSE) has no RDNs.
 */
export function splitDn(dn: string): string[] {
  const rdns: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < dn.length; i++) {
    const ch = dn[i] as string;
    if (ch === '\\' && i + 1 < dn.length) {
      current += ch + (dn[i + 1] as string);
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
      current += ch;
    } else if ((ch === ',' || ch === ';') && !quoted) {
      rdns.push(current);
      current = '';
      while (dn[i + 1] === ' ') i++;
    } else {
      current += ch;
    }
  }
  if (current !== '' || rdns.length > 0) rdns.push(current);
  return rdns.map((r) => r.replace(/^ +/, ''));
}

/** The DN of the parent ("OU=a,DC=x" → "DC=x"); '' for a single RDN. */
export function parentDn(dn: string): string {
  return splitDn(dn).slice(1).join(',');
}

/** Unescapes an RDN value written per RFC 4514 ("a\,b" → "a,b", "\c3\a9" → "é"). */
export function unescapeDnValue(value: string): string {
  const bytes: number[] = [];
  const utf8 = new TextEncoder();
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (ch === '\\' && i + 1 < value.length) {
      const hex = value.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(...utf8.encode(value[i + 1] as string));
        i += 1;
      }
    } else {
      const cp = value.codePointAt(i) as number;
      const s = String.fromCodePoint(cp);
      bytes.push(...utf8.encode(s));
      i += s.length - 1;
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The attribute type and unescaped value of a single-valued RDN ("OU=a\,b" → ["OU", "a,b"]). */
export function splitRdn(rdn: string): [type: string, value: string] {
  const eq = rdn.indexOf('=');
  if (eq < 0) return [rdn, ''];
  return [rdn.slice(0, eq).trim(), unescapeDnValue(rdn.slice(eq + 1))];
}

/** The DNS name of a naming context from its DC= components ("DC=corp,DC=example,DC=test" → "corp.example.test"). */
export function dnsDomainFromDn(dn: string): string {
  return splitDn(dn)
    .map(splitRdn)
    .filter(([type]) => type.toUpperCase() === 'DC')
    .map(([, value]) => value.toLowerCase())
    .join('.');
}
