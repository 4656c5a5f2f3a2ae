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

// Write-behind limits: queued entries are written by at most cacheWriters
// goroutines; past maxPendingBytes of queued data Put writes synchronously.
const (
	cacheWriters    = 8
	maxPendingBytes = 64 << 20
)

// Cache is an on-disk key/value store for immutable registry facts and the
// caller's derived results.
//
// Each entry is one file, named by the SHA-256 of its key, under
// <dir>/v1/<2 hex>/. A file starts with a header line
//
//	provaudit-cache v1 <sha256(key) hex> <length> <sha256(data) hex>\n
//
// followed by the data. Get checks all three, so a truncated, corrupted or
// misplaced file reads as a miss. Every file is written as a temporary file
// in the same directory and renamed over the entry, so readers (including
// another provaudit process) see the old entry or the new one, never a mix;
// entries are not fsynced: a file cut short by a crash fails its checksum
// and is refetched. Keys starting with "fetch/" are this package's own.
//
// Put is write-behind: it queues the entry and returns, and up to 8
// background goroutines write the queue (creating files is slow on some
// disks; an audit should not wait for it). Get sees queued entries. Flush
// waits until everything queued is on disk and reports write failures; an
// entry still queued when the process exits is lost, which only costs a
// cache miss next time. Past 64 MiB of queued data Put writes synchronously.
//
// A Cache is safe for concurrent use. A nil *Cache and the Cache of a
// Client with NoCache are disabled: Get always misses, Put does nothing.
type Cache struct {
	dir  string
	dirs sync.Map // created shard directories

	mu           sync.Mutex
	pending      map[string]*pendingEntry
	order        []string // keys queued for writing, oldest first
	pendingBytes int
	writers      int
	idle         *sync.Cond // signalled when writers drop to 0
	errs         []error    // write failures since the last Flush
	writeErrs    int64      // all write failures
}

// pendingEntry is data Put accepted that is not on disk yet.
type pendingEntry struct {
	data   []byte
	queued bool // false once a writer took it
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

func (c *Cache) enabled() bool { return c != nil && c.dir != "" }

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
	if !c.enabled() {
		return nil, false
	}
	c.mu.Lock()
	if e := c.pending[key]; e != nil {
		data := bytes.Clone(e.data)
		c.mu.Unlock()
		return data, true
	}
	c.mu.Unlock()
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

// Put queues data to be stored under key and returns; see Cache for when it
// reaches the disk. The data is copied. The error reports only what can be
// known now (an oversized entry, or a synchronous write failing); Flush
// reports failures of queued writes.
func (c *Cache) Put(key string, data []byte) error {
	if !c.enabled() {
		return nil
	}
	if len(data) > maxCacheEntry {
		return fmt.Errorf("%w: cache entry of %d bytes", ErrTooLarge, len(data))
	}
	data = bytes.Clone(data)
	c.mu.Lock()
	if c.pendingBytes+len(data) > maxPendingBytes {
		c.mu.Unlock()
		return c.write(key, data)
	}
	if c.pending == nil {
		c.pending = map[string]*pendingEntry{}
		c.idle = sync.NewCond(&c.mu)
	}
	if e := c.pending[key]; e != nil && e.queued {
		c.pendingBytes += len(data) - len(e.data)
		e.data = data
	} else {
		// new, or a writer is busy with an older value: queue this one
		c.pending[key] = &pendingEntry{data: data, queued: true}
		c.pendingBytes += len(data)
		c.order = append(c.order, key)
	}
	start := c.writers < cacheWriters
	if start {
		c.writers++
	}
	c.mu.Unlock()
	if start {
		go c.drain()
	}
	return nil
}

// drain writes queued entries until the queue is empty, then exits.
func (c *Cache) drain() {
	c.mu.Lock()
	for len(c.order) > 0 {
		key := c.order[0]
		c.order = c.order[1:]
		e := c.pending[key]
		e.queued = false
		c.mu.Unlock()
		err := c.write(key, e.data)
		c.mu.Lock()
		if err != nil {
			c.errs = append(c.errs, err)
			c.writeErrs++
		}
		if c.pending[key] == e {
			delete(c.pending, key)
		}
		c.pendingBytes -= len(e.data)
	}
	c.order = nil
	c.writers--
	if c.writers == 0 {
		c.idle.Broadcast()
	}
	c.mu.Unlock()
}

// Flush waits until every queued entry is written and returns the write
// failures since the last Flush (joined), or nil.
func (c *Cache) Flush() error {
	if !c.enabled() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.writers > 0 {
		c.idle.Wait()
	}
	err := errors.Join(c.errs...)
	c.errs = nil
	return err
}

// WriteErrors counts failed background writes since the Cache was opened
// (a synchronous write's failure is Put's error instead).
func (c *Cache) WriteErrors() int64 {
	if !c.enabled() {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeErrs
}

// write stores one entry atomically (temporary file + rename in the same
// directory). Files are 0600, directories 0700.
func (c *Cache) write(key string, data []byte) error {
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
	buf := make([]byte, 0, len(header)+len(data))
	_, werr := tmp.Write(append(append(buf, header...), data...)) // one write call
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
