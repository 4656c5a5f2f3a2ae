package fetch

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"strings"
)

// TarballDigests gets the tarball the registry serves for m and returns its
// digests as an SRI string ("sha1-… sha256-… sha512-…"), for the rare
// version whose registry integrity and lockfile integrity share no hash
// algorithm (old versions with a sha1-only dist.integrity, locked with
// sha512): only the bytes themselves can link the two, as npm's pacote
// checks both. The tarball is streamed through the hashes, never held in
// memory, and capped at Options.MaxBody. Its URL is always the registry's
// own <registry><name>/-/<basename>-<version>.tgz (as npm publishes it),
// never dist.tarball or the lockfile's resolved, so a document cannot send
// the client, or a credential, elsewhere.
//
// The digests are cached sealed (see Cache.GetSealed) under the registry,
// name@version and the integrity and shasum served with them; offline a
// cached entry is used or the error is ErrNotInCache.
func (c *Client) TarballDigests(ctx context.Context, m *Manifest) (string, error) {
	if m == nil {
		return "", fmt.Errorf("%w: nil manifest", ErrInvalidSpec)
	}
	if err := checkSpec(m.Name, m.Version); err != nil {
		return "", err
	}
	what := m.Name + "@" + m.Version
	registry := m.Registry
	if registry == "" {
		registry = c.cfg.RegistryFor(m.Name)
	}
	reg, err := cleanRegistry(registry)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	key := "fetch/tarball\n" + reg + "\n" + what + "\n" + m.Integrity + "\n" + m.Shasum
	if data, ok := c.cacheGetSealed(key); ok {
		return string(data), nil
	}
	base := m.Name[strings.LastIndexByte(m.Name, '/')+1:]
	tURL := reg + m.Name + "/-/" + base + "-" + m.Version + ".tgz"
	if c.opts.Offline {
		return "", fmt.Errorf("%w: %s: tarball %s (offline)", ErrNotInCache, what, tURL)
	}
	var sri string
	err = c.get(ctx, getSpec{url: tURL, accept: "application/octet-stream", limit: c.opts.MaxBody, reserve: streamReserve, what: what}, func(r io.Reader) error {
		hashes := []struct {
			name string
			h    hash.Hash
		}{{"sha1", sha1.New()}, {"sha256", sha256.New()}, {"sha512", sha512.New()}}
		ws := make([]io.Writer, len(hashes))
		for i := range hashes {
			ws[i] = hashes[i].h
		}
		if _, err := io.Copy(io.MultiWriter(ws...), r); err != nil {
			return err
		}
		parts := make([]string, len(hashes))
		for i, h := range hashes {
			parts[i] = h.name + "-" + base64.StdEncoding.EncodeToString(h.h.Sum(nil))
		}
		sri = strings.Join(parts, " ")
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("%s: the tarball, needed to link the lockfile's integrity to the registry's: %w", what, err)
	}
	c.cachePutSealed(key, []byte(sri))
	return sri, nil
}
