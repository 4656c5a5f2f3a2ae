// Package registrytest is a fake npm registry for tests and benchmarks.
//
// A [Registry] is an [net/http/httptest] server that speaks the parts of the
// npm registry wire format provaudit uses. It serves two kinds of data:
//
//   - recorded fixtures, byte for byte: attestation responses and packuments
//     copied from real projects into testdata/ ([Registry.AddRecordedFixtures],
//     [Registry.AddRecordedPackument], [Registry.AddRecorded]);
//   - generated data for any lockfile ([Registry.Add], [Packages]): version
//     documents with the lockfile's integrity, registry signatures by the
//     fake npm key and attestation bundles minted by the fake Sigstore of
//     package fakesigstore, which verify against its trusted root.
//
// The package never imports package testing, so benchmark programs can use
// it too; the provaudit binary never imports it.
//
// # Routes
//
//	GET /<name>/<version>                        version document (version or dist-tag)
//	GET /<name>                                  full packument (Accept: application/json or none)
//	GET /<name>  (Accept: application/vnd.npm.install-v1+json)  abbreviated packument
//	GET /-/npm/v1/attestations/<name>@<version>  attestation bundles
//	GET /-/npm/v1/keys                           registry keys
//	GET /<name>/-/<basename>-<version>.tgz       tarball, when one was given
//	GET /-/registrytest/stats                    request statistics as JSON (not counted)
//	POST /-/registrytest/reset                   [Registry.ResetStats] (not counted)
//
// Scoped names are accepted escaped (@scope%2fname, %40scope%2Fname) and
// unescaped (@scope/name). Generated documents point dist.tarball and
// dist.attestations.url at the registry's own URL, with scoped names written
// as the npm registry writes them (@scope%2fname in attestation URLs,
// @scope/name/-/name-1.0.0.tgz for tarballs).
//
// # Faults and statistics
//
// Knobs (all safe to call while the server is serving) inject latency, random
// errors, failures with Retry-After, truncated, oversized and HTML bodies,
// stripped signatures, a missing keys or version endpoint and a required
// token. Knob paths are matched after percent-decoding, so "/@s%2fa/1.0.0" and
// "/@s/a/1.0.0" name the same resource; a knob path ending in "/" applies to
// every request path under it ("/" to every request).
//
// Hostile mode: [Registry.NeverAnswer], [Registry.StallBody],
// [Registry.Trickle] and [Registry.LongString] make handlers for
// [Registry.Handle] that accept and never answer, answer headers and then
// stall the body, trickle a byte per interval, or stream a document with one
// string of any length (megabytes to terabytes, from a few kilobytes of
// memory). Installed on "/" they make the whole registry hostile.
//
// The registry counts requests (total and per path) and the maximum number of
// requests in flight, and records every Authorization header it sees.
//
// # Order of checks for one request
//
// statistics, then latency, then [Registry.RequireToken], [Registry.Fail],
// [Registry.SetErrorRate], [Registry.SetHTML], then the handler
// ([Registry.Handle] overrides before the built-in routes), and last the
// body faults [Registry.Truncate] and [Registry.Oversize].
package registrytest
