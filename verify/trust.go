package verify

import (
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// Embedded trust material: the Sigstore public-good trust root and the npm
// registry keys, both TUF targets decoded from the seeds.json of the
// @sigstore/tuf 4.0.2 npm package (the seeds npm itself ships). They are
// byte-identical to testdata/trust/sigstore-tuf-4.0.2/ (see
// testdata/MANIFEST.md, section 5) and are refreshed only by an explicit
// "provaudit trust update"; a test pins their SHA-256:
//
//	trustroot/trusted_root.json  6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66
//	trustroot/npm-keys.json      160677eb6e1c7083c89b166b20f8fe4e837fb71181506aff1991b80b89184f7d
var (
	//go:embed trustroot/trusted_root.json
	embeddedTrustedRoot []byte
	//go:embed trustroot/npm-keys.json
	embeddedNpmKeys []byte
)

// EmbeddedTrustedRoot returns a copy of the embedded public-good
// trusted_root.json.
func EmbeddedTrustedRoot() []byte { return slices.Clone(embeddedTrustedRoot) }

// EmbeddedNpmKeys returns a copy of the embedded npm keys (TUF keys.json
// form).
func EmbeddedNpmKeys() []byte { return slices.Clone(embeddedNpmKeys) }

// TrustOptions selects the trust material. A nil field means the embedded
// public-good material.
type TrustOptions struct {
	// TrustedRoot is a Sigstore trusted_root.json.
	TrustedRoot []byte
	// NpmKeys are the pinned npm registry keys, in either form
	// [ParseNpmKeys] accepts.
	NpmKeys []byte
}

// Trust is parsed, immutable trust material: the Sigstore trusted root and
// the pinned npm keys. It is safe for concurrent use.
type Trust struct {
	root   *root.TrustedRoot
	pinned []Key
	digest string
}

// NewTrust parses the trust material once. Errors wrap [ErrMalformed] (or
// [ErrNoKeys] for an empty key list) and say which file is wrong. An empty,
// non-nil field is an error, not a request for the embedded material.
func NewTrust(opts TrustOptions) (*Trust, error) {
	trBytes, keyBytes := opts.TrustedRoot, opts.NpmKeys
	if trBytes == nil {
		trBytes = embeddedTrustedRoot
	}
	if keyBytes == nil {
		keyBytes = embeddedNpmKeys
	}
	if len(trBytes) == 0 {
		return nil, fmt.Errorf("%w: trusted root: empty document", ErrMalformed)
	}
	tr, err := root.NewTrustedRootFromJSON(trBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: trusted root: %w", ErrMalformed, err)
	}
	if len(tr.RekorLogs()) == 0 {
		return nil, fmt.Errorf("%w: trusted root: no transparency logs", ErrMalformed)
	}
	keys, err := ParseNpmKeys(keyBytes)
	if err != nil {
		return nil, fmt.Errorf("pinned npm keys: %w", err)
	}
	for i := range keys {
		if err := validKey(&keys[i]); err != nil {
			return nil, fmt.Errorf("pinned npm keys: %w", err)
		}
		keys[i].Pinned, keys[i].Trusted = true, true
	}
	h := sha256.New()
	h.Write([]byte("provaudit-trust-v1\n"))
	writeLenPrefixed(h, trBytes)
	writeLenPrefixed(h, keyBytes)
	return &Trust{root: tr, pinned: keys, digest: hex.EncodeToString(h.Sum(nil))}, nil
}

func writeLenPrefixed(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// Digest returns a hex SHA-256 over the trusted root and the pinned keys, for
// cache keys of anything derived from verification.
func (t *Trust) Digest() string { return t.digest }

// PinnedKeys returns a copy of the pinned npm keys (Pinned and Trusted are
// true).
func (t *Trust) PinnedKeys() []Key { return slices.Clone(t.pinned) }
