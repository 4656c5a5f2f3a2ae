package trustupdate

import (
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// The embedded TUF root: root.json version 14 of the Sigstore public-good
// TUF repository (expires 2026-06-22; TUF accepts an expired starting root
// and walks to the current one), decoded from the seeds.json of the
// @sigstore/tuf 4.0.2 npm package, the seeds npm itself ships. It is
// byte-identical to testdata/trust/sigstore-tuf-4.0.2/root.json (see
// testdata/MANIFEST.md, section 5); a test pins its SHA-256:
//
//	tufroot/root.json  c8c41ec13f06ccabf5b48541ee2550098b4c7b5349e1d180390c29a7d5c2642c
//
//go:embed tufroot/root.json
var embeddedRoot []byte

// EmbeddedAsOf dates the material embedded in the binary (this TUF root and
// verify's trusted root and npm keys, all from @sigstore/tuf 4.0.2): the day
// it was taken, as testdata/MANIFEST.md records it. trust show measures the
// embedded material's age from it.
var EmbeddedAsOf = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// EmbeddedRoot returns a copy of the embedded public-good TUF root.json.
func EmbeddedRoot() []byte { return slices.Clone(embeddedRoot) }

// Errors. Each is wrapped with the details.
var (
	// ErrTUFRoot reports a TUF root.json that cannot be a starting root.
	ErrTUFRoot = errors.New("TUF root")
	// ErrRegistry reports a registry URL no keys target can be named for.
	ErrRegistry = errors.New("registry URL")
	// ErrMirror reports an unusable TUF mirror URL.
	ErrMirror = errors.New("TUF mirror URL")
	// ErrUpdate reports a TUF update that failed; nothing was stored.
	ErrUpdate = errors.New("trust update failed")
	// ErrNotStored reports that the cache directory holds no update.
	ErrNotStored = errors.New("no trust update stored")
	// ErrStore reports a stored update that does not verify.
	ErrStore = errors.New("stored trust update is not valid")
)

// checkRoot parses a starting root: a root.json signed by its own threshold
// of root keys.
func checkRoot(b []byte) (*metadata.Metadata[metadata.RootType], error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty document", ErrTUFRoot)
	}
	r, err := metadata.Root().FromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTUFRoot, err)
	}
	if r.Signed.Type != metadata.ROOT {
		return nil, fmt.Errorf("%w: type %q, want %q", ErrTUFRoot, r.Signed.Type, metadata.ROOT)
	}
	if err := r.VerifyDelegate(metadata.ROOT, r); err != nil {
		return nil, fmt.Errorf("%w: not signed by its own root keys: %w", ErrTUFRoot, err)
	}
	return r, nil
}

// KeysTarget returns the name of the TUF target that holds the keys of
// registry, as npm asks for it: the URL's host (lower case, with its port
// unless it is the scheme's default) followed by its path without a
// trailing slash and "/keys.json". A path with an empty, "." or ".."
// segment is refused.
func KeysTarget(registry string) (string, error) {
	u, err := url.Parse(registry)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrRegistry, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", fmt.Errorf("%w: %q is not an http(s) URL with a host", ErrRegistry, u.Redacted())
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	if path != "" {
		// Each segment becomes one of the target name's: an empty, "." or
		// ".." segment would make a name that is not the registry's own
		// (and "http://h/a://" one that reads as a URL).
		for _, seg := range strings.Split(path, "/")[1:] {
			if seg == "" || seg == "." || seg == ".." {
				return "", fmt.Errorf("%w: %q has an empty, \".\" or \"..\" path segment", ErrRegistry, u.Redacted())
			}
		}
	}
	return host + path + "/keys.json", nil
}
