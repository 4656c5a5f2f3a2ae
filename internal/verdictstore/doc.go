// Package verdictstore is provaudit's shared verdict store: verdicts of
// packages that verified clean, kept on object storage and signed with an
// Ed25519 key, so that an organisation verifies each
// name@version#integrity once and every other run (another machine,
// another repository, an empty cache) uses the verdict without fetching or
// verifying the package again. It implements [audit.VerdictStore].
//
// It lives under internal/ because its Go API is not a contract: audit's
// VerdictStore interface is the seam, and the record format below is what
// other tools may rely on.
//
// # Storage
//
// A store is a Go CDK blob URL (gocloud.dev/blob) with the s3blob, gcsblob,
// azureblob and fileblob drivers: s3://BUCKET?region=R (any S3-compatible
// store with endpoint=URL and use_path_style=true), gs://BUCKET,
// azblob://CONTAINER, file:///PATH. Credentials are the drivers' usual
// ones: for S3 the AWS SDK's default chain (AWS_ACCESS_KEY_ID and friends,
// AWS_PROFILE, the shared config and credentials files, web identity,
// instance roles); for GCS the application default credentials; for Azure
// AZURE_STORAGE_ACCOUNT with a key, a SAS token or the default Azure
// credential. The Go CDK's prefix=P parameter keeps the records under P.
//
// # What a record is bound to
//
// A record is looked up by an [audit.StoreKey], everything the verdict
// depends on that is known before the package is fetched:
//
//   - the package as the lockfile pins it: name, version and integrity
//     (lockfile entries without an integrity are never looked up: what
//     npm installs for them is whatever the registry serves that day);
//   - the verdict format (audit's, changed whenever what a verdict means
//     does);
//   - the digest of the trust material (Sigstore trusted root and pinned
//     npm keys): a trust update, --trusted-root or --npm-keys makes other
//     keys;
//   - the registry the package was checked against, who named it (the
//     person running provaudit, whose registry's listed keys are trusted,
//     or only the audited project, whose registry's keys are not), and
//     the digest of the keyring used (pinned and listed keys, their
//     trust, what the key endpoint said). A record made against one
//     registry never counts for another, nor for the same registry named
//     differently or listing other keys.
//
// It is not bound to policy: the verdict is what verification found, and
// audit derives the status and findings from it under the reader's
// --require-provenance, --require-signatures and --omit, as it does for a
// fresh verdict. Nor to the tool's version: the verdict format is.
//
// The object key is keyPrefix + a folder per signing key (the first 16
// bytes of the SHA-256 of the raw public key, hex) + the SHA-256 of every
// field of the StoreKey (hex): no name from an untrusted lockfile becomes a
// path, readers look only where their writer writes, and writers with
// other keys (a key rotation, two teams) never overwrite each other.
//
// # Record format
//
// A record is a DSSE envelope (JSON: payloadType, payload, signatures with
// keyid and sig, base64) of payload type [PayloadType], signed with
// Ed25519 over DSSE's PAE; keyid is the key's OpenSSH-style fingerprint.
// The payload is JSON: recordVersion (1), key (the StoreKey: name,
// version, integrity, verdictFormat, trust, registry, registryNamedBy,
// registryKeys), verdict (audit's verdict: the registry signature and
// attestation checks with every fact the report shows, and the binding
// flags) and, informative only, tool and createdAt.
//
// # Trust
//
// Readers hold only the public key; without it the store is not read. A
// record is used only when, in this order: it is at most 256 KiB, is an
// envelope of [PayloadType], a signature by the public key verifies
// ([ErrSignature] otherwise), its payload decodes strictly with record
// version 1 ([ErrMalformed]), and its key equals the one looked up field
// by field ([ErrOtherKey]). audit then takes the verdict only if it
// decodes and is a pass (signature verified, attestations verified or
// absent; or no registry keys and attestations verified; nothing invalid,
// untrusted or undetermined). Anything else reads as absent: the package
// is verified the usual way, and a warning counts the records ignored.
// Writers (a trusted CI job) hold the private key and write only verdicts
// that pass: a failure is never stored, so nobody can pin one, and every
// run checks it again.
//
// A valid record vouches for name@version#integrity: the registry is not
// asked about that package again (for as long as the trust material, the
// registry's keys and the verdict format stay the same), and the report
// shows the verdict as the writer found it, judgedAt included.
//
// # Availability
//
// Lookup reads the records of all the packages to audit concurrently
// (ReadConcurrency, 256, at a time), each read bounded by Timeout (2 s).
// The first read that fails other than "not found", or times out, marks
// the store unavailable: the other reads are cancelled, nothing more is
// read or written, and Warn says so once; the audit goes on without it.
// Writes run in the background while the audit verifies (Concurrency, 64,
// at a time, each bounded by WriteTimeout, 10 s); the first that fails is
// reported once and ends writing for the run. Close waits for the writes.
package verdictstore
