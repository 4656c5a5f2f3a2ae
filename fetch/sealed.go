package fetch

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SecretSize is the size of the cache secret, in bytes.
const SecretSize = 32

// sealTag starts the MAC input, so that a sealed record can never be taken
// for anything else the secret might one day authenticate.
const sealTag = "provaudit-sealed-v1"

// The cache is not a source of trust: it lives in a directory that CI
// systems restore from other branches and anyone with the user's rights can
// edit. Raw registry responses may come from it as they are, because every
// use verifies them again. Anything derived from verification (verdicts,
// key lists, publish times, tarball digests) is stored sealed: followed by
// an HMAC-SHA256 under a per-user secret kept outside the cache directory,
// over the key and the data. A sealed record whose MAC does not verify (made
// with another secret, edited, moved to another key) reads as a miss and is
// derived again, never trusted.

// GetSealed returns the data stored with PutSealed under key; false when
// absent or when its MAC does not verify under this Cache's secret.
func (c *Cache) GetSealed(key string) ([]byte, bool) {
	raw, ok := c.Get(key)
	if !ok || len(raw) < sha256.Size {
		return nil, false
	}
	data, mac := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if !hmac.Equal(mac, c.seal(key, data)) {
		return nil, false
	}
	return data, true
}

// PutSealed stores data under key, followed by its MAC (see Put).
func (c *Cache) PutSealed(key string, data []byte) error {
	if !c.enabled() {
		return nil
	}
	return c.Put(key, append(append(make([]byte, 0, len(data)+sha256.Size), data...), c.seal(key, data)...))
}

// seal computes the MAC of data stored under key.
func (c *Cache) seal(key string, data []byte) []byte {
	m := hmac.New(sha256.New, c.secret)
	m.Write([]byte(sealTag))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(key)))
	m.Write(n[:])
	m.Write([]byte(key))
	m.Write(data)
	return m.Sum(nil)
}

// newSecret returns a random secret. A Cache opened without one uses a
// fresh secret: what it seals is readable by that Cache only, so nothing
// derived is ever reused from another run.
func newSecret() []byte {
	b := make([]byte, SecretSize)
	if _, err := rand.Read(b); err != nil {
		panic("fetch: no randomness for the cache secret: " + err.Error())
	}
	return b
}

// ErrSecret reports a cache secret file that cannot be used.
var ErrSecret = errors.New("unusable cache secret")

// LoadSecret reads the per-user cache secret from path (a file of
// SecretSize random bytes, mode 0600, in a directory the user owns; the
// CLI uses the user configuration directory, never the cache directory).
// When the file does not exist and create is true, it is created with
// fresh random bytes (a concurrent run creating it too is fine: the first
// one wins and both read it); with create false it returns (nil, nil), and
// the caller runs with a fresh secret (an offline audit writes nothing).
// A file that is not a regular file, has another size, or that the group
// or others may read or write is an error wrapping ErrSecret: a secret
// others can read authenticates nothing.
func LoadSecret(path string, create bool) ([]byte, error) {
	b, err := readSecret(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return b, err
	}
	if !create {
		return nil, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSecret, path, err)
	}
	// Written whole under a temporary name, then linked into place: a link
	// never replaces an existing file, so of two first runs one secret wins
	// and both read it, and no reader ever sees a half-written one.
	f, err := os.CreateTemp(filepath.Dir(path), ".cache-secret-*")
	if err != nil {
		return nil, fmt.Errorf("%w: creating %s: %w", ErrSecret, path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	secret := newSecret()
	_, err = f.Write(secret)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: writing %s: %w", ErrSecret, path, err)
	}
	switch err := os.Link(tmp, path); {
	case errors.Is(err, fs.ErrExist):
		return readSecret(path) // another run made it first
	case err != nil:
		return nil, fmt.Errorf("%w: creating %s: %w", ErrSecret, path, err)
	}
	return secret, nil
}

func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrSecret, path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSecret, path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrSecret, path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v: others may read it; make it 0600 (chmod 600 %s) or remove it to get a new one", ErrSecret, path, st.Mode().Perm(), path)
	}
	b := make([]byte, SecretSize+1)
	n, err := io.ReadFull(f, b)
	if n != SecretSize || (err != io.ErrUnexpectedEOF && err != nil) {
		return nil, fmt.Errorf("%w: %s holds %d bytes, want %d; remove it to get a new one", ErrSecret, path, n, SecretSize)
	}
	return b[:SecretSize], nil
}

// SecretInside reports whether the secret file at secretPath lies inside
// the cache directory cacheDir, where it would protect nothing.
func SecretInside(secretPath, cacheDir string) bool {
	s, err1 := filepath.Abs(secretPath)
	d, err2 := filepath.Abs(cacheDir)
	if err1 != nil || err2 != nil {
		return true
	}
	rel, err := filepath.Rel(d, s)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
