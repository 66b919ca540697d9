// Routes and Ingresses, by namespace and by what they point at, for both cluster views. The
// reverse index answers "who sends traffic to this Service / attaches to this Gateway?" on a
// Service or Gateway update without scanning every route. Each watched kind is replaced on its
// own (one reflector per kind), so replace works per kind.
import { targetKey, type RouteInfo } from './view.ts';

const EMPTY: readonly RouteInfo[] = Object.freeze([]);

/** The targets a route names: its parents, and its backends. */
export function routeTargets(route: RouteInfo): string[] {
  const keys = new Set<string>();
  for (const p of route.parentRefs) keys.add(targetKey(p));
  for (const b of route.backends) keys.add(targetKey(b));
  return [...keys];
}

export class RouteIndex {
  private readonly byKey = new Map<string, RouteInfo>();
  private readonly byNamespace = new Map<string, Set<RouteInfo>>();
  private readonly byTarget = new Map<string, Set<RouteInfo>>();

  get size(): number {
    return this.byKey.size;
  }

  count(kind: string): number {
    let n = 0;
    for (const r of this.byKey.values()) if (r.kind === kind) n++;
    return n;
  }

  upsert(route: RouteInfo): void {
    const key = routeKey(route);
    const prev = this.byKey.get(key);
    if (prev) this.unlink(prev);
    this.byKey.set(key, route);
    add(this.byNamespace, route.namespace, route);
    for (const t of routeTargets(route)) add(this.byTarget, t, route);
  }

  remove(route: Pick<RouteInfo, 'kind' | 'namespace' | 'name'>): void {
    const key = routeKey(route);
    const prev = this.byKey.get(key);
    if (!prev) return;
    this.byKey.delete(key);
    this.unlink(prev);
  }

  /** Makes the routes of `kind` exactly these; other kinds are untouched. */
  replaceKind(kind: string, routes: readonly RouteInfo[]): void {
    for (const r of [...this.byKey.values()]) if (r.kind === kind) this.remove(r);
    for (const r of routes) if (r.kind === kind) this.upsert(r);
  }

  list(namespace: string): readonly RouteInfo[] {
    const set = this.byNamespace.get(namespace);
    return set ? [...set] : EMPTY;
  }

  /** Routes naming the target (a targetKey). */
  referencing(key: string): readonly RouteInfo[] {
    const set = this.byTarget.get(key);
    return set ? [...set] : EMPTY;
  }

  private unlink(route: RouteInfo): void {
    drop(this.byNamespace, route.namespace, route);
    for (const t of routeTargets(route)) drop(this.byTarget, t, route);
  }
}

function routeKey(r: Pick<RouteInfo, 'kind' | 'namespace' | 'name'>): string {
  return `${r.kind}/${r.namespace}/${r.name}`;
}

function add(map: Map<string, Set<RouteInfo>>, key: string, route: RouteInfo): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(route);
}

function drop(map: Map<string, Set<RouteInfo>>, key: string, route: RouteInfo): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(route);
  if (set.size === 0) map.delete(key);
}
