// A live source of cluster state for `netguard serve`: the server starts it, asks it for
// readiness, and hands its view to the engine. Implemented by the informer caches.
import type { ChangeFeed } from './changes.ts';
import type { SubjectSource } from './subjects.ts';
import type { ClusterView, ResourceFamily } from './view.ts';

export interface FamilyStatus {
  /** completed its first full list */
  synced: boolean;
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
  /** every cache completed its first list */
  isSynced(): boolean;
  status(): Partial<Record<ResourceFamily, FamilyStatus>>;
}
