package fetch

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// cacheFormat is the on-disk format version; it is part of every entry's
// directory, so a format change starts from an empty cache.
const cacheFormat = "v1"

// maxCacheEntry bounds what Get reads: no entry this package writes comes
// close (the largest are attestation bodies, capped at 4 MiB).
const maxCacheEntry = 256 << 20

// Cache is an on-disk key/value store for immutable registry facts and the
// caller's derived results.
//
// Each entry is one file, named by the SHA-256 of its key, under
// <dir>/v1/<2 hex>/. A file starts with a header line
//
//	provaudit-cache v1 <sha256(key) hex> <length> <sha256(data) hex>\n
//
// followed by the data. Get checks all three, so a truncated, corrupted or
// misplaced file reads as a miss. Put writes a temporary file in the same
// directory and renames it over the entry, so readers (including another
// provaudit process) see the old entry or the new one, never a mix; entries
// are not fsynced: a file cut short by a crash fails its checksum and is
// refetched. Keys starting with "fetch/" are this package's own.
//
// A Cache is safe for concurrent use. The zero of *Cache (nil) and a Cache
// from a Client with NoCache are disabled: Get always misses, Put does
// nothing.
type Cache struct {
	dir  string
	dirs sync.Map // created shard directories
}

// OpenCache returns a cache rooted at dir, creating the directory (0700).
func OpenCache(dir string) (*Cache, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty cache directory", ErrConfig)
	}
	if err := os.MkdirAll(filepath.Join(dir, cacheFormat), 0o700); err != nil {
		return nil, fmt.Errorf("cache directory %s: %w", dir, err)
	}
	return &Cache{dir: dir}, nil
}

// Dir returns the cache's root directory ("" when disabled).
func (c *Cache) Dir() string {
	if c == nil {
		return ""
	}
	return c.dir
}

func (c *Cache) path(key string) (string, string, [32]byte) {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	shard := filepath.Join(c.dir, cacheFormat, h[:2])
	return shard, filepath.Join(shard, h), sum
}

// Get returns the data stored under key; false when absent, unreadable or
// failing its header checks.
func (c *Cache) Get(key string) ([]byte, bool) {
	if c == nil || c.dir == "" {
		return nil, false
	}
	_, p, keySum := c.path(key)
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxCacheEntry+512))
	if err != nil {
		return nil, false
	}
	data, ok := decodeEntry(raw, keySum)
	return data, ok
}

func decodeEntry(raw []byte, keySum [32]byte) ([]byte, bool) {
	nl := bytes.IndexByte(raw, '\n')
	if nl < 0 || nl > 256 {
		return nil, false
	}
	f := bytes.Fields(raw[:nl])
	if len(f) != 5 || string(f[0]) != "provaudit-cache" || string(f[1]) != cacheFormat {
		return nil, false
	}
	if string(f[2]) != hex.EncodeToString(keySum[:]) {
		return nil, false
	}
	n, err := strconv.Atoi(string(f[3]))
	data := raw[nl+1:]
	if err != nil || n != len(data) {
		return nil, false
	}
	sum := sha256.Sum256(data)
	if string(f[4]) != hex.EncodeToString(sum[:]) {
		return nil, false
	}
	return data, true
}

// Put stores data under key atomically (temporary file + rename in the
// same directory). Files are 0600, directories 0700.
func (c *Cache) Put(key string, data []byte) error {
	if c == nil || c.dir == "" {
		return nil
	}
	if len(data) > maxCacheEntry {
		return fmt.Errorf("%w: cache entry of %d bytes", ErrTooLarge, len(data))
	}
	shard, p, keySum := c.path(key)
	if _, ok := c.dirs.Load(shard); !ok {
		if err := os.MkdirAll(shard, 0o700); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
		c.dirs.Store(shard, true)
	}
	tmp, err := os.CreateTemp(shard, ".tmp-*")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) { // directory removed under us
			c.dirs.Delete(shard)
		}
		return fmt.Errorf("cache: %w", err)
	}
	sum := sha256.Sum256(data)
	header := fmt.Sprintf("provaudit-cache %s %s %d %s\n", cacheFormat, hex.EncodeToString(keySum[:]), len(data), hex.EncodeToString(sum[:]))
	_, werr := tmp.WriteString(header)
	if werr == nil {
		_, werr = tmp.Write(data)
	}
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cache: %w", werr)
	}
	return nil
}
