// Package verify decides what provaudit trusts.
//
// # What it owns
//
// Trust material (the embedded Sigstore public-good trusted root and npm
// registry keys, or files given instead), npm registry signature checks,
// Sigstore bundle verification with sigstore-go, the binding of every
// attestation subject to the lockfile's integrity, and extraction of the
// provenance facts users want to see.
//
// The package is pure: no context, no I/O, no clock other than the one it is
// given. Everything it builds is safe for concurrent use.
package verify
