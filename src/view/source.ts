// A live source of cluster state for `netguard serve`: the server starts it, asks it for
// readiness, and hands its view to the engine. Implemented by the informer caches.
import type { ChangeFeed } from './changes.ts';
import type { SubjectSource } from './subjects.ts';
import type { ClusterView, ResourceFamily } from './view.ts';

export interface FamilyStatus {
  /** every resource of the family completed its first full list, or is known not to be served */
  synced: boolean;
  /**
   * It does not hold readiness back: synced, except for resources RBAC forbids (those answer
   * unknown, with the reason). Absent: same as synced.
   */
  ready?: boolean;
  /** resources (plural names) RBAC refuses to list or watch */
  forbidden?: string[];
  /** resources the API server does not serve at any version netguard reads: known empty */
  notServed?: string[];
  /** last error, e.g. "forbidden: list pods" or "watch dropped; retrying in 4s" */
  error?: string;
  /** its short code (forbidden, network, server...): what /readyz shows instead of the apiserver's text */
  errorType?: string;
  /** epoch ms of the last successful list or watch event */
  lastSyncAt?: number;
  size: number;
}

export interface ClusterStateSource {
  readonly view: ClusterView;
  /** caches that report their changes and keep reviewable objects can be audited (the informer's) */
  readonly changes?: ChangeFeed;
  readonly subjects?: SubjectSource;
  /** begins list/watch; resolves once started (not once synced) */
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Readiness: every resource netguard can read has completed its first list. A resource the
   * server does not serve counts as synced (known empty); one RBAC forbids does not count (its
   * answers are unknown, the rest can be answered).
   */
  isSynced(): boolean;
  status(): Partial<Record<ResourceFamily, FamilyStatus>>;
}
