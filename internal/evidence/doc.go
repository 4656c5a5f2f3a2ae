// Package evidence records everything an audit of a lockfile fetched into
// one file, an evidence bundle, and replays it, so that the lockfile can be
// audited again with no network at all (air-gapped, or years later) and
// give the same verdicts.
//
// It is internal because only the provaudit command uses it; the bundle
// format is documented in the README, not promised to other modules as an
// API.
//
// # Recording
//
// A [Recorder] is an http.RoundTripper around the real transport: the
// recording audit runs the normal audit code path (audit.Run with its
// fetch.Client, the cache disabled) and the recorder keeps every answer
// (status, Content-Type and Location, and the body as the client read it)
// under its method, URL and Accept header, and every request that got no
// answer. Nothing of the requests' other headers is kept, so no credential
// ends up in a bundle. Full packuments are reduced to the facts provaudit
// reads of the lockfile's versions (fetch.ReducePackument), which turns
// megabytes into hundreds of bytes and reads back to exactly the same
// facts. [Recorder.WriteBundle] writes a gzipped tar:
//
//	manifest.json            format, tool, recording time, lockfile SHA-256,
//	                         registries and who named them, trust material,
//	                         every request and answer, and the SHA-256 and
//	                         size of every other member
//	responses/NNNNNN         the answers' bodies, as the registry sent them
//	trust/trusted_root.json  the Sigstore trusted root the audit used
//	trust/npm-keys.json      the npm keys it used
//	trust/tuf.json           the TUF update they came from, if they did
//
// # Reading
//
// A bundle may come from anyone. [Read] accepts only a gzipped tar of
// regular files (folders are ignored; links, devices and any other entry
// are refused) with clean relative names, within [Limits] on the number of
// entries, each member's size and their total (what it holds in memory); a
// header that claims more than arrives costs at most 4 MiB. Every member
// must be listed in the manifest with its size and SHA-256, and every
// listed member be present: the error names each member that is missing,
// changed or unlisted. The order of the members and the compression do not
// matter.
//
// Matching digests only show that the bundle is the one its manifest
// describes, not that anything in it is true. The registry answers go
// through the same verification as in a live audit (signatures, Sigstore
// bundles, digests bound to the lockfile); what a registry says without a
// signature (publish times, which keys it lists, which versions carry
// attestations) is as good as whoever made the bundle, exactly as in a
// live audit it is as good as the registry.
//
// # Replaying
//
// [Bundle.Transport] answers every request from the bundle: a recorded
// answer as it was recorded, a request recorded as failed with the
// recorded error, anything else with [ErrNotRecorded] naming it. The audit
// judges keys at the recording time (audit.Options.JudgeAt), so that it
// asks for exactly what the recording asked for and a key that expired
// since is judged as it was then.
//
// # Trust
//
// The trust material a bundle records is not trust by itself:
// [Bundle.ChooseTrust] uses a recorded piece only when it is the piece the
// binary embeds or a target of the TUF update recorded in the bundle that
// verifies from the binary's TUF root or the person's --tuf-root; files the
// person passes are used as in any audit. The registry decisions are the
// person's too: [Manifest.CheckRegistries] refuses an audit whose registries,
// or who named them, differ from the recording's.
package evidence
