// Package trustupdate refreshes provaudit's trust material through TUF,
// keeps it in the cache directory, verifies it again whenever it is used and
// says which material is in use.
//
// It lives apart from package verify because it does I/O (network, files)
// and takes a context; verify stays pure. It is internal because only the
// provaudit command uses it: its API is not a contract for other modules.
//
// # Update
//
// [Update] runs sigstore-go's TUF client (go-tuf v2) from a TUF root
// embedded in the binary ([EmbeddedRoot]: the Sigstore public-good root npm
// ships) or one the person running provaudit names (--tuf-root), against
// sigstore-go's default mirror or another one (--tuf-mirror). It fetches the
// target trusted_root.json and the npm keys target of the configured
// registry, named as npm names it: <host[:port]><path>/keys.json
// ([KeysTarget]; no host is written in the code). A repository without such
// a target is not an error: the registry keys then stay as they were.
//
// The result is stored only when everything verified: as one file,
// <cache dir>/trust/tuf.json, replaced atomically, holding every root
// version after the starting root, the final timestamp, snapshot and targets
// metadata, the two targets and the fetch time. A failed update writes
// nothing, so the previous material stays in use. The previous update, when
// it verifies, seeds the client: its newest root is the starting point and
// its timestamp, snapshot and targets are the versions a newer fetch may not
// roll back.
//
// # The cache is not trusted
//
// Anything in the cache directory may have been written by someone else (a
// CI cache restored from another branch). [Load] therefore verifies the
// stored file from the starting root on every use, offline, with go-tuf's
// own checks: each root signed by the threshold of its predecessor and of
// itself with consecutive versions; timestamp, snapshot and targets signed
// by the keys of the final root; the snapshot's hash and length as the
// timestamp gives them, the targets metadata's as the snapshot gives them,
// and each target's hash and length as the targets metadata gives them.
// Only top-level targets are accepted (Sigstore's repositories delegate
// none of these). A stored file that fails any of this is ignored and named
// in a warning; the embedded material is used instead.
//
// # Expiry on load
//
// Metadata expiry is judged at the recorded fetch time, not at the wall
// clock: every final role must have been unexpired when it was fetched,
// which is what TUF checked then, and a fetch time in the future (beyond
// five minutes of clock skew) is refused. An audit on an air-gapped machine
// months after the update therefore still uses it; refusing would fall back
// to the embedded material, which is older still. Expiry protects an online
// client from being fed stale metadata; an offline audit cannot get newer
// metadata anyway, so the age is reported instead: provaudit trust show
// warns when the material in use is older than [StaleAfter]. What remains
// is that whoever can write the cache directory can replay an older, genuine
// TUF state; for the public-good root that is never older than the embedded
// material (see below), and rollbacks are refused at update time.
//
// # Carried elsewhere
//
// [State.Encode] gives an update in its stored form and [Decode] verifies
// such bytes exactly as [Load] verifies the stored file. An evidence bundle
// carries the update an audit used that way, so that an air-gapped audit
// from the bundle accepts the trust material it records only when it
// verifies from the embedded TUF root or the person's --tuf-root.
//
// # Which material is newest
//
// [Resolve] chooses per piece (trusted root, npm keys). With the public-good
// root, each piece is dated by the latest validity start among its entries
// (certificate authorities, transparency and CT logs, timestamp
// authorities; npm keys): verifiable from the contents alone, and Sigstore
// adds entries rather than rewriting them. The updated piece is used unless
// it is older than the embedded one; on a tie the update wins, as the later
// statement about the same keys (one that closes a key's window, say). With
// a root given by the person (--tuf-root), the material updated from it is
// used as it is: the embedded public-good material says nothing about a
// private deployment, and a missing or invalid update is an error.
//
// # Describing the material
//
// [DescribeTrustedRoot] and [DescribeNpmKeys] list every authority, log and
// key with its validity window; [Warnings] says when the material is older
// than [StaleAfter] or a key valid now ends within [EndingWithin].
package trustupdate
