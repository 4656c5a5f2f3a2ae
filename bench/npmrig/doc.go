// Package npmrig runs the real `npm audit signatures` against a fake
// registry on loopback, without touching the network, so that benchmarks can
// compare provaudit with npm on the same packages.
//
// # Why a rig
//
// `npm audit signatures` cannot be pointed at a private Sigstore: it always
// refreshes a TUF client for the fixed mirror tuf-repo-cdn.sigstore.dev
// before it looks at any package, it takes the registry keys from that TUF
// repository (target "<registry host[:port]><path>/keys.json") when the
// repository has them, and it audits the installed tree (node_modules), not
// the lockfile. [Prepare] builds what it takes to run it offline:
//
//  1. a TUF repository of its own (one ed25519 key for every role,
//     consistent snapshots, ten-year expiry) whose targets are the fake
//     Sigstore's trusted_root.json and the fake registry's keys.json;
//  2. a CONNECT proxy on 127.0.0.1 that accepts only
//     tuf-repo-cdn.sigstore.dev:443 and answers it with a TLS server whose
//     certificate comes from a CA made for this rig, serving that repository;
//  3. an npm cache whose TUF directory holds the repository's root as the
//     trusted root, and the two targets as an earlier run leaves them (so that
//     npm's first concurrent verifications do not race on downloading them);
//  4. an installed tree without tarballs: for every lockfile entry its folder
//     and package.json, the root package.json and package-lock.json, and
//     node_modules/.package-lock.json (npm's hidden lockfile) dated after
//     every folder, which npm trusts as the description of node_modules.
//
// [Rig.Run] then runs `npm audit signatures --registry URL --cache DIR` in
// the project with, for that process only, https_proxy pointing at the
// proxy, no_proxy=127.0.0.1,localhost, NODE_EXTRA_CA_CERTS naming the rig's
// CA, and a private HOME, user and global npmrc, so none of the machine's npm
// configuration leaks in. The registry itself is reached directly.
//
// # Measurements
//
// Every run starts from a cold npm cache (only the TUF root and targets are
// seeded). The wall time is measured around the process; user and system CPU
// time and the peak resident set come from the child's rusage (wait4), which
// covers npm and anything it waited for. The text npm prints is parsed into
// counts: "audited N packages" counts install locations (not unique
// name@version), and only those reached by a registry dependency edge.
//
// # Safety
//
// The registry must be plain HTTP on 127.0.0.1 or localhost. The proxy
// refuses every other destination and every request that is not CONNECT, so
// a run that would leave loopback fails instead.
package npmrig
