// Who deletes on everyone's behalf. The namespace controller empties a Terminating namespace
// and the garbage collector removes dependents of deleted owners; an admission webhook that
// denies either stalls that work forever (it retries, and nobody sees why). With
// --use-service-account-credentials=false every controller runs as system:kube-controller-manager,
// so that user counts as a cleaner too, but for deletions only.
export const NAMESPACE_CONTROLLER = 'system:serviceaccount:kube-system:namespace-controller';
export const GARBAGE_COLLECTOR = 'system:serviceaccount:kube-system:generic-garbage-collector';
export const CONTROLLER_MANAGER = 'system:kube-controller-manager';

export interface RequestUser {
  username: string;
  groups?: readonly string[];
}

/** A request that cleans up after a deletion: admit it without judging it. */
export function isCleanupRequest(user: RequestUser | undefined, operation: string): boolean {
  if (!user) return false;
  if (user.username === NAMESPACE_CONTROLLER || user.username === GARBAGE_COLLECTOR) return true;
  return operation === 'DELETE' && user.username === CONTROLLER_MANAGER;
}
