// Package fetch talks to npm registries for provaudit.
//
// # What it owns
//
// npm configuration (the npmrc chain, npm_config_* environment, scoped
// registries, auth per host and path), the HTTP client (timeouts, retries with
// backoff, response size caps, a concurrency limit), the on-disk cache under
// os.UserCacheDir()/provaudit and the --offline mode.
//
// It never verifies anything and never prints: it hands bytes and the few
// decoded fields verification needs to its caller. It takes plain strings
// (name, version, integrity), not the lockfile model.
//
// # Configuration
//
// LoadConfig follows npm's precedence: --registry, then npm_config_*
// variables, the project .npmrc (beside the lockfile), the user npmrc
// (npm_config_userconfig or $HOME/.npmrc), the global npmrc
// (npm_config_globalconfig or $PREFIX/etc/npmrc; without either there is
// none), and for the default registry last the most common registry origin
// of the lockfile's resolved URLs. No registry host is built in: with none
// of these, LoadConfig fails with ErrNoRegistry and says how to set one.
// Everything comes from ConfigOptions.Env, never the process environment.
//
// # Credentials
//
// //host[:port]/path/:_authToken, :_auth and :username + :_password apply
// to a request whose host and port match (no port in the key means the
// scheme's default) and whose path lies inside the key's path; the longest
// such path wins (npm's nerf-dart rule). The Authorization header is set
// per request by the transport from the request's own URL, so a redirect
// hop gets the credential of its own target or none: a token never follows
// a redirect to another host or path prefix. Redirects from https to http
// are refused. Credentials are never printed: Config's String, GoString and
// Format redact them, registry URLs lose their userinfo (which becomes a
// basic-auth credential) and errors only name URLs without credentials.
//
// # Proxies
//
// npm's precedence picks the proxies: https URLs use https-proxy, then
// proxy, then HTTPS_PROXY/https_proxy, then HTTP_PROXY/http_proxy; http
// URLs use proxy, then HTTP_PROXY/http_proxy; noproxy, else
// NO_PROXY/no_proxy, lists the hosts reached directly. Which request goes
// through which proxy is golang.org/x/net/http/httpproxy's decision (as
// for net/http's environment proxies), with npm's reading of noproxy kept:
// ".example.invalid" and "*.example.invalid" also match example.invalid.
// Unlike npm, requests to localhost or a loopback address never go through
// a proxy.
//
// # Requests
//
// For a unit name@version the client gets the version document
// GET <registry><escaped name>/<version>; name and version must pass
// internal/npmspec's rules (else ErrInvalidSpec, before any request), and
// scoped names are escaped as npm does (npm-package-arg's escapedName:
// "@scope/name" -> "@scope%2fname"),
// so path-prefixed registries (https://host/api/npm/repo/) work. Where the
// version endpoint answers 404, 405 or 501, or serves no dist.signatures
// while the registry has keys (a stripping proxy), the abbreviated packument
// (Accept: application/vnd.npm.install-v1+json) is used and the Manifest
// says Abbreviated. Attestations come from
// <registry>-/npm/v1/attestations/<escaped name>@<version> of the registry
// that served the version; dist.attestations.url only says that there are
// some and is never followed (npm's pacote also keeps the configured
// registry's origin), so a document cannot send a request, or a token,
// elsewhere. Publish time and publisher come from the full packument,
// decoded as a stream (PublishInfo), and so do release histories
// (History): a version's own publish facts (publisher, trusted publisher,
// the staged-publishing approver, the provenance dist.attestations
// announces, signatures, install scripts) and a summary of the versions
// published before it on its release line, from the facts of every version
// on the release lines of the versions asked about (at most 4 MiB of facts
// a packument, else ErrTooLarge; a malformed _npmUser or other field is a
// fact that is missing, never a failure). One download of a packument
// serves every version of the name an auditor names as a sibling. Keys
// come from <registry>-/npm/v1/keys.
//
// Every request holds one of Options.Concurrency slots (shared by all calls
// on a Client), has its own timeouts (headers within HeaderTimeout, then at
// least 1 KiB of body every 10 s, the whole response within Timeout), and is
// retried with exponential backoff
// and jitter on 429, 408, 5xx other than 501/505, connection resets and
// timeouts (a timeout once at most), honouring Retry-After up to 60 s; other
// 4xx are final. After 3 consecutive timeouts on one host, the Client's
// circuit breaker fails every further request to it at once
// (ErrHostUnresponsive).
// Bodies are capped (ErrTooLarge) and must be JSON (an HTML page is
// ErrMalformed), for the name and version asked for. Cancelling the context
// aborts requests in flight and backoff waits.
//
// Version documents and packuments are decoded as a stream that keeps only
// the fields needed, each bounded (4 KiB a string, 32 signatures), and cuts
// any string to 64 KiB before the tokenizer sees it, so that a 40 MB string
// costs nothing to skip (stream.go). All bodies being read, and the
// attestation bodies callers keep (AttestationsBody), share one memory
// budget (Options.MemoryBudget, 256 MiB): see Client.
//
// # Cache
//
// Registry answers are cached by registry URL + name@version (they are
// immutable once published) as checksummed records appended to one segment
// file per run, each record checked again whenever it is read; see Cache. A cached version document is used only when its
// integrity does not contradict the lockfile's; otherwise it is refetched.
// Attestation bodies, publish facts and release histories are kept
// forever (the last two sealed: see Cache.GetSealed), key sets for
// KeysMaxAge. Offline uses the cache alone, changes nothing in it, and fails
// with ErrNotInCache ("not in cache") for anything missing; NoCache neither
// reads nor writes. A cache that cannot be written (a read-only directory, a
// full disk) stops caching for the run and Close reports it once; the
// requests go on.
//
// This store was compared with one file per entry and with bbolt (issue
// 22; the numbers are in bench/README.md, "The on-disk cache compared"):
// neither is faster warm or cold, one file per entry costs 15-25% more CPU
// and leaves temp files behind a killed run, and bbolt lets a second
// concurrent run have no cache and crashes on a damaged file.
package fetch
