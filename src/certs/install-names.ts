// The names manifests/ installs netguard under. `netguard certs`, `netguard serve
// --cert-mode self-managed` and test/deploy (which checks the manifests) all take them from here.
export const INSTALL_NAMES = {
  namespace: 'netguard-system',
  service: 'netguard',
  /** the TLS Secret: netguard's own in self-managed mode, mounted in files mode */
  secret: 'netguard-tls',
  webhookConfiguration: 'netguard',
} as const;
