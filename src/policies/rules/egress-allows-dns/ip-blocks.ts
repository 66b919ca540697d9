// ipBlocks and the DNS pods: does what a set of ipBlocks allows contain the addresses the DNS
// pods can have? The pods' own IPs are never known, but where they can lie sometimes is: inside
// the pod CIDRs (policy cluster.podCIDRs), outside the Service ranges (cluster.serviceCIDRs,
// the DNS Service's ClusterIPs), never link-local; and clients reach DNS over the family of the
// DNS Service's address. NetworkPolicy implementations differ on whether an ipBlock matches
// pod IPs at all, so a block narrower than "everything" proves nothing unless the pod CIDRs
// are known. The decision table is in docs/rules/egress-allows-dns.md.
import {
  allOf, covers, formatCidr, formatIp, intersect, isEmpty, parseCidr, rangesOf, subtract, union,
  type Cidr, type Family, type Ip, type Ranges,
} from '../../../kube/cidr.ts';
import { isRecord } from '../../../kube/objects.ts';
import { truncate } from '../../../kube/text.ts';
import type { ClusterSettings } from '../../types.ts';

type Tri = 'yes' | 'no' | 'maybe';

const FAMILIES: readonly Family[] = [4, 6];
/** Pod IPs are never link-local (169.254.0.0/16, fe80::/10). */
const LINK_LOCAL: Record<Family, Ranges> = { 4: rangesOf([parseCidr('169.254.0.0/16')!], 4), 6: rangesOf([parseCidr('fe80::/10')!], 6) };

/** One ipBlock peer, parsed: what it allows is its cidr minus its excepts. */
export interface BlockEntry {
  text: string;
  cidr: Cidr;
  excepts: readonly Cidr[];
}

/** An ipBlock peer's block, or undefined when its cidr does not parse (the apiserver rejects those). */
export function blockEntry(block: unknown): BlockEntry | undefined {
  if (!isRecord(block)) return undefined;
  const cidr = parseCidr(block.cidr);
  if (!cidr) return undefined;
  const excepts = (Array.isArray(block.except) ? block.except : []).map(parseCidr).filter((c): c is Cidr => c !== undefined);
  return { text: String(block.cidr), cidr, excepts };
}

function allowedBy(entries: readonly BlockEntry[], family: Family): Ranges {
  let out: Ranges = [];
  for (const e of entries) {
    if (e.cidr.family !== family) continue;
    out = union(out, subtract(rangesOf([e.cidr], family), rangesOf(e.excepts, family)));
  }
  return out;
}

function familyName(f: Family): string {
  return f === 4 ? 'IPv4' : 'IPv6';
}

export interface BlockJudgement {
  tri: Tri;
  /** why, when tri is maybe */
  reason?: string;
}

/** Where the DNS pods' addresses can be, and which families clients reach DNS over. */
export class DnsAddressSpace {
  /** the families DNS is reached over; undefined: not known */
  readonly families?: readonly Family[];
  private readonly familiesFrom: string;
  private readonly pods: Record<Family, Ranges>;
  private readonly podsKnown: boolean;
  private readonly podCidrs: readonly Cidr[];
  private readonly services: Record<Family, Ranges>;
  private readonly serviceCidrs: readonly Cidr[];
  private readonly clusterIPs: readonly Ip[];

  constructor(settings: ClusterSettings | undefined, clusterIPs: readonly Ip[]) {
    this.podCidrs = (settings?.podCIDRs ?? []).map(parseCidr).filter((c): c is Cidr => c !== undefined);
    this.serviceCidrs = (settings?.serviceCIDRs ?? []).map(parseCidr).filter((c): c is Cidr => c !== undefined);
    this.clusterIPs = clusterIPs;
    this.podsKnown = this.podCidrs.length > 0;
    const fams = (xs: readonly { family: Family }[]) => FAMILIES.filter((f) => xs.some((x) => x.family === f));
    const podFamilies = this.podsKnown ? fams(this.podCidrs) : undefined;
    let families: readonly Family[] | undefined;
    let from = '';
    if (clusterIPs.length > 0) {
      families = fams(clusterIPs);
      from = `DNS Service ${clusterIPs.map(formatIp).join(', ')}`;
    } else if (this.serviceCidrs.length > 0) {
      families = fams(this.serviceCidrs);
      from = `cluster.serviceCIDRs ${this.serviceCidrs.map(formatCidr).join(', ')}`;
    } else if (podFamilies) {
      families = podFamilies;
      from = `cluster.podCIDRs ${this.podCidrs.map(formatCidr).join(', ')}`;
    }
    if (families && podFamilies) {
      const both = families.filter((f) => podFamilies.includes(f));
      if (both.length > 0) families = both;
    }
    this.families = families;
    this.familiesFrom = from;
    this.services = {
      4: union(rangesOf(this.serviceCidrs, 4), rangesOf(clusterIPs.filter((ip) => ip.family === 4).map((ip) => ({ family: 4, base: ip.value, prefix: 32 })), 4)),
      6: union(rangesOf(this.serviceCidrs, 6), rangesOf(clusterIPs.filter((ip) => ip.family === 6).map((ip) => ({ family: 6, base: ip.value, prefix: 128 })), 6)),
    };
    const podsOf = (f: Family): Ranges => (this.podsKnown ? rangesOf(this.podCidrs, f) : subtract(subtract(allOf(f), LINK_LOCAL[f]), this.services[f]));
    this.pods = { 4: podsOf(4), 6: podsOf(6) };
  }

  /** Do these ipBlocks (together) reach the DNS pods? */
  judge(entries: readonly BlockEntry[]): BlockJudgement {
    if (entries.length === 0) return { tri: 'no' };
    const per = {} as Record<Family, Tri | 'none'>;
    for (const f of FAMILIES) {
      const pods = this.pods[f];
      const allowed = allowedBy(entries, f);
      per[f] = isEmpty(pods) ? 'none' : covers(allowed, pods) ? 'yes' : isEmpty(intersect(allowed, pods)) ? 'no' : 'maybe';
    }
    if (this.families) {
      const over = this.families.map((f) => (per[f] === 'none' ? 'no' : per[f]));
      if (over.every((t) => t === 'yes')) return { tri: 'yes' };
      if (over.every((t) => t === 'no')) return { tri: 'no' };
      const partial = this.families.find((f) => per[f] === 'maybe');
      if (partial === undefined) {
        // Dual-stack: one family reached, the other not; which one resolv.conf names is not known.
        const reached = this.families.filter((f) => per[f] === 'yes').map(familyName).join(' and ');
        return { tri: 'maybe', reason: `ipBlocks reach the DNS pods over ${reached} only, and DNS is dual-stack (${truncate(this.familiesFrom, 60)})` };
      }
      return { tri: 'maybe', reason: this.partialReason(entries, partial) };
    }
    // Families unknown: a block covering a whole family's pod space is read as "everything",
    // as 0.0.0.0/0 and ::/0 are meant; anything narrower that could hold a DNS pod is unknown.
    if (per[4] === 'yes' || per[6] === 'yes') return { tri: 'yes' };
    const partial = FAMILIES.find((f) => per[f] === 'maybe');
    if (partial === undefined) return { tri: 'no' };
    return { tri: 'maybe', reason: this.partialReason(entries, partial) };
  }

  private partialReason(entries: readonly BlockEntry[], family: Family): string {
    const pods = this.pods[family];
    const mine = entries.filter((e) => e.cidr.family === family);
    // A block that would cover the pods but for its excepts: name the except.
    const excepting = mine.find((e) => e.excepts.length > 0 && covers(rangesOf([e.cidr], family), pods));
    const shown = (e: BlockEntry) => truncate(e.text, 45);
    if (this.podsKnown) {
      const podText = truncate(this.podCidrs.filter((c) => c.family === family).map(formatCidr).join(', '), 60);
      if (excepting) return `ipBlock ${shown(excepting)} excepts part of the pod CIDRs ${podText}; the DNS pods may be in it`;
      return `ipBlock ${shown(mine[0])} covers only part of the pod CIDRs ${podText}; the DNS pods may be outside it`;
    }
    if (excepting) {
      const ex = excepting.excepts.find((c) => !isEmpty(intersect(rangesOf([c], family), pods))) ?? excepting.excepts[0];
      return `ipBlock ${shown(excepting)} excepts ${formatCidr(ex)}, which may hold the DNS pods' IPs; netguard cannot see pod IPs (set cluster.podCIDRs in the policy to decide)`;
    }
    const block = mine.find((e) => !isEmpty(intersect(rangesOf([e.cidr], family), pods))) ?? mine[0];
    const small = block.cidr.prefix >= (family === 4 ? 24 : 120);
    const clusterIp = small ? `; if it names the kube-dns ClusterIP it never matches, as policies apply after Service DNAT` : '';
    return `ipBlock ${shown(block)} may hold the DNS pods' IPs, which netguard cannot see (set cluster.podCIDRs in the policy to decide)${clusterIp}`;
  }

  /**
   * Why blocks that reach no DNS pod miss them, for a violation's message: a ClusterIP (the
   * Service ranges or the DNS Service's address; never matched after DNAT), the wrong family,
   * or outside the pod CIDRs. Undefined when there is nothing precise to say.
   */
  miss(entries: readonly BlockEntry[]): { text: string; dnat: boolean } | undefined {
    for (const e of entries) {
      const f = e.cidr.family;
      const own = rangesOf([e.cidr], f);
      if (!isEmpty(this.services[f]) && covers(this.services[f], own)) {
        const ip = this.clusterIPs.find((c) => c.family === f && covers(own, rangesOf([{ family: f, base: c.value, prefix: f === 4 ? 32 : 128 }], f)));
        const what = ip ? `names the DNS Service ClusterIP ${formatIp(ip)}` : `lies in the Service range ${this.serviceCidrs.filter((c) => c.family === f).map(formatCidr).join(', ')}`;
        return { text: `ipBlock ${truncate(e.text, 45)} ${what}, which never matches (Service DNAT comes first)`, dnat: true };
      }
    }
    if (this.families) {
      const wrong = entries.find((e) => !this.families!.includes(e.cidr.family));
      if (wrong) return { text: `ipBlock ${truncate(wrong.text, 45)} is ${familyName(wrong.cidr.family)}, but DNS is reached over ${this.families.map(familyName).join(' and ')} (${truncate(this.familiesFrom, 50)})`, dnat: false };
    }
    for (const e of entries) {
      const f = e.cidr.family;
      const own = rangesOf([e.cidr], f);
      if (covers(LINK_LOCAL[f], own)) return { text: `ipBlock ${truncate(e.text, 45)} is link-local, where pod IPs never are`, dnat: false };
      if (this.podsKnown) {
        const pods = truncate(this.podCidrs.map(formatCidr).join(', '), 50);
        const excepted = !isEmpty(intersect(own, this.pods[f]));
        return { text: `ipBlock ${truncate(e.text, 45)} ${excepted ? 'excepts every' : 'holds no'} pod IP (cluster.podCIDRs ${pods})`, dnat: false };
      }
    }
    return undefined;
  }
}
