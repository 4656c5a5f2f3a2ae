package audit

import (
	"context"

	"github.com/provaudit/provaudit/fetch"
)

// Source is what an audit needs from the registries: each package's
// version document, its attestations, the registries' signing keys, and
// the publish facts of its name. An audit depends on this and nothing else
// of the network; *fetch.Client implements it over HTTP with its cache,
// and tests audit from memory (source_test.go).
//
// Everything a Source returns is untrusted: the audit verifies it.
type Source interface {
	// RegistryKeys returns the body of registry's signing-key endpoint;
	// fetch.ErrNoKeys when the registry says it publishes none.
	RegistryKeys(ctx context.Context, registry string) ([]byte, error)
	// Manifest returns the version document of name@version; integrity is
	// the lockfile's, for the fallback to the abbreviated packument.
	Manifest(ctx context.Context, name, version, integrity string) (*fetch.Manifest, error)
	// TarballDigests returns the SRI digests of m's tarball, for a
	// lockfile and a registry that share no hash algorithm.
	TarballDigests(ctx context.Context, m *fetch.Manifest) (string, error)
	// AttestationsBody returns m's attestations; the audit releases the
	// body once verified.
	AttestationsBody(ctx context.Context, m *fetch.Manifest) (*fetch.Body, error)
	// PublishInfo returns when name@version was published, from the full
	// packument; siblings are the other versions of name the audit will
	// ask about (one download can answer for all).
	PublishInfo(ctx context.Context, name, version string, siblings ...string) (*fetch.PublishInfo, error)
	// History returns the facts of the earlier versions of version's
	// release line (the release-history rules).
	History(ctx context.Context, name, version string, siblings ...string) (*fetch.History, error)
}

// SealedStore keeps what verification derived (verdicts, baseline
// identities) so that a later run need not derive it again. What it
// returns must be authenticated by the store (fetch.Cache seals entries
// with the user's secret): a forged entry would decide a verdict.
type SealedStore interface {
	GetSealed(key string) ([]byte, bool)
	PutSealed(key string, data []byte) error
}

// sealedStoreOf is the store of opts: Options.Sealed, else the cache of a
// Source that has one (a *fetch.Client with a cache), else none.
func sealedStoreOf(opts Options) SealedStore {
	if opts.Sealed != nil {
		return opts.Sealed
	}
	if c, ok := opts.Client.(interface{ Cache() *fetch.Cache }); ok {
		if fc := c.Cache(); fc != nil {
			return fc
		}
	}
	return nil
}
