// IPv4 and IPv6 addresses and CIDR blocks as BigInts, for NetworkPolicy ipBlock reasoning.
// Pure and defensive: anything that does not parse yields undefined, never an exception.

export interface Cidr {
  family: 4 | 6;
  /** network address with the host bits cleared */
  base: bigint;
  prefix: number;
}

export interface Ip {
  family: 4 | 6;
  value: bigint;
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Leading zeros are ambiguous (octal in some parsers); Kubernetes rejects them too.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  if (text.includes('%')) return undefined; // zone ids have no place in a CIDR
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] | undefined => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 tail (::ffff:10.0.0.1) stands for the last two groups.
  const words: number[] = [];
  const all = [...head, ...(halves.length === 2 ? ['::'] : []), ...tail];
  for (const [i, g] of all.entries()) {
    if (g === '::') {
      words.push(-1);
      continue;
    }
    if (i === all.length - 1 && g.includes('.')) {
      const v4 = parseIPv4(g);
      if (v4 === undefined) return undefined;
      words.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    words.push(parseInt(g, 16));
  }
  const gap = words.indexOf(-1);
  const explicit = words.filter((w) => w !== -1);
  if (gap < 0 ? explicit.length !== 8 : explicit.length > 7) return undefined;
  const full = gap < 0 ? explicit : [...words.slice(0, gap), ...new Array(8 - explicit.length).fill(0), ...words.slice(gap + 1)];
  return full.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n);
}

export function parseIp(text: unknown): Ip | undefined {
  if (typeof text !== 'string') return undefined;
  const t = text.trim();
  if (t.includes(':')) {
    const value = parseIPv6(t);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIPv4(t);
  return value === undefined ? undefined : { family: 4, value };
}

export function parseCidr(text: unknown): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1).trim();
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const width = ip.family === 4 ? 32 : 128;
  if (prefix > width) return undefined;
  return { family: ip.family, base: ip.value & mask(width, prefix), prefix };
}

function mask(width: number, prefix: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return prefix === 0 ? 0n : (all >> BigInt(width - prefix)) << BigInt(width - prefix);
}

export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  if (cidr.family !== ip.family) return false;
  const width = cidr.family === 4 ? 32 : 128;
  return (ip.value & mask(width, cidr.prefix)) === cidr.base;
}

/** True when every address of `inner` is inside `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.family === outer.family && inner.prefix >= outer.prefix && cidrContains(outer, { family: inner.family, value: inner.base });
}

/** A single address: /32 for IPv4, /128 for IPv6. */
export function isHostCidr(cidr: Cidr): boolean {
  return cidr.prefix === (cidr.family === 4 ? 32 : 128);
}

export type Family = 4 | 6;

export function familyWidth(family: Family): number {
  return family === 4 ? 32 : 128;
}

/**
 * A set of addresses of one family: sorted, disjoint, non-adjacent inclusive ranges. What an
 * ipBlock allows is such a set (cidr minus except), and so are the pod and service CIDRs; the
 * DNS rule compares them exactly.
 */
export type Ranges = readonly (readonly [bigint, bigint])[];

export function cidrRanges(cidr: Cidr): Ranges {
  const size = 1n << BigInt(familyWidth(cidr.family) - cidr.prefix);
  return [[cidr.base, cidr.base + size - 1n]];
}

/** Every address of the family. */
export function allOf(family: Family): Ranges {
  return [[0n, (1n << BigInt(familyWidth(family))) - 1n]];
}

export function union(a: Ranges, b: Ranges): Ranges {
  const all = [...a, ...b].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [lo, hi] of all) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1n) {
      if (hi > last[1]) last[1] = hi;
    } else out.push([lo, hi]);
  }
  return out;
}

export function subtract(a: Ranges, b: Ranges): Ranges {
  let out: [bigint, bigint][] = a.map(([lo, hi]) => [lo, hi]);
  for (const [blo, bhi] of b) {
    const next: [bigint, bigint][] = [];
    for (const [lo, hi] of out) {
      if (bhi < lo || blo > hi) {
        next.push([lo, hi]);
        continue;
      }
      if (blo > lo) next.push([lo, blo - 1n]);
      if (bhi < hi) next.push([bhi + 1n, hi]);
    }
    out = next;
  }
  return out;
}

export function intersect(a: Ranges, b: Ranges): Ranges {
  const out: [bigint, bigint][] = [];
  for (const [alo, ahi] of a) {
    for (const [blo, bhi] of b) {
      const lo = alo > blo ? alo : blo;
      const hi = ahi < bhi ? ahi : bhi;
      if (lo <= hi) out.push([lo, hi]);
    }
  }
  return union(out, []);
}

export function isEmpty(a: Ranges): boolean {
  return a.length === 0;
}

/** Every address of `inner` is in `outer`. */
export function covers(outer: Ranges, inner: Ranges): boolean {
  return isEmpty(subtract(inner, outer));
}

/** The ranges of a CIDR list of one family (others ignored). */
export function rangesOf(cidrs: readonly Cidr[], family: Family): Ranges {
  return cidrs.filter((c) => c.family === family).reduce<Ranges>((acc, c) => union(acc, cidrRanges(c)), []);
}

/** "10.96.0.0/12" back from a Cidr, for messages. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ family: cidr.family, value: cidr.base })}/${cidr.prefix}`;
}

export function formatIp(ip: Ip): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 255n)).join('.');
  const words = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // The longest run of zero words (two or more) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
