// Package npmspec owns the npm input rules that several packages apply:
// Subresource Integrity strings, registry package names and versions, and
// how a name is written in a registry path. lockfile, fetch and verify use
// it, so that a string one of them accepts is never read differently by
// another.
//
// # Integrity
//
// [ParseIntegrity] reads an SRI string (space-separated "algorithm-base64"
// tokens; options after "?" ignored) into an [Integrity] with at most one
// digest per known algorithm: sha512, sha384, sha256 and sha1. Tokens of
// other algorithms are skipped, as the SRI specification says, but at least
// one known algorithm must be present. A known algorithm whose digest is not
// canonical padded standard base64, or has the wrong length, or two
// different digests of one algorithm, is an error: npm compares digests as
// strings and accepts a tarball that matches any one of them, so such a
// string pins nothing or pins two things. Characters other than printable
// ASCII and ASCII white space are an error, and so is a string longer than
// [MaxIntegrityLen].
//
// [Integrity.Match] compares two integrities (the lockfile's and what a
// registry served): every algorithm both carry must agree; the [Binding] it
// returns names the strongest algorithm they share (none: nothing binds
// them; sha1: a weak binding).
//
// # Algorithm names are lower case
//
// npm reads lockfile integrity with ssri, whose token pattern is
// /^([a-z0-9]+)-([^?]+)(\?[?\S*]*)?$/ and whose algorithm must be one of
// Node's crypto.getHashes() names, all lower case (ssri lib/index.js, class
// Hash). A token "SHA512-..." therefore does not match and is dropped, and
// an integrity made only of such tokens parses to null: pacote (lib/fetcher.js)
// then has no integrity of the lockfile's to check the tarball against, at
// most the registry's own dist.integrity. The SRI specification compares
// algorithm names case-insensitively, but what matters here is what npm
// enforces, so provaudit must not treat "SHA512-..." as a pinned sha512: it
// would claim a binding npm does not make. Nor does it silently skip the
// token: a known algorithm written in another case is an error of the
// integrity string, reported as an input problem of the package it belongs
// to, never as tampering.
//
// # Names and versions
//
// [ValidName] applies npm's rules for a package a registry can serve (those
// of validate-npm-package-name for old packages, which npm-package-arg
// enforces): "name" or "@scope/name"; URL-safe characters only (those
// encodeURIComponent leaves alone: letters, digits and -_.!~*'()); upper
// case allowed, as old packages have it; the name not starting with ".",
// "_" or "-"; neither the scope nor the part after it starting with "." (so
// no "." or ".." segment); not "node_modules" or "favicon.ico"; at most 214
// bytes. Control characters, NUL, spaces, "%", "\" and a "/" other than the
// scope's are rejected by the character rule, so a valid name is safe in a
// URL path and as a file name component.
//
// [ValidVersion] accepts strict SemVer 2.0.0 as
// github.com/Masterminds/semver/v3's StrictNewVersion reads it (no "v"
// prefix, no leading zeros, at most 256 bytes), with major, minor and patch
// no larger than 2^53-1, as npm's semver requires.
//
// [EscapeName] writes a valid name as a registry path segment.
//
// # Release lines
//
// [ReleaseLine] puts a version on its release line: same major ("2.x"),
// same minor for 0.x ("0.3.x", where every minor may break); a prerelease
// belongs to none. [CompareVersions] orders versions by SemVer precedence.
package npmspec
