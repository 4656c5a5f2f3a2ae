package fetch

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cacheFormat is the on-disk format version; it names the directory the
// segments live in, so a format change starts from an empty cache.
const cacheFormat = "v2"

// maxCacheEntry bounds what Get reads: no entry this package writes comes
// close (the largest are attestation bodies, capped at 4 MiB).
const maxCacheEntry = 16 << 20

// maxHeader bounds a record's header line.
const maxHeader = 256

// maxPendingBytes bounds the data Put queues: past it, Put waits for the
// writer.
const maxPendingBytes = 64 << 20

// compactAbove is the number of segments past which OpenCache merges them.
const compactAbove = 32

// Cache is an on-disk key/value store for immutable registry facts and the
// caller's derived results.
//
// # Layout
//
// Entries are records appended to segment files under <dir>/v2/, one
// segment per Cache (per provaudit run) that wrote anything, named
// <unix nanoseconds>-<random>.pack so that names sort by age. A record is a
// header line
//
//	provaudit-cache v2 <sha256(key) hex> <length> <sha256(data) hex>\n
//
// followed by the data. One file per run instead of one per entry: creating
// files costs 0.3 to 0.9 ms of CPU each on some machines, which made cache
// writes a third of a cold audit's CPU.
//
// # Reading, and what is checked
//
// The first Get indexes every segment by reading record headers (a later
// segment, and a later record, wins for a key). Every Get reads its record
// again and checks the header's key hash, length and data checksum, so a
// torn, truncated or corrupted record reads as a miss (and is refetched by
// the caller), never as data. A record's header that does not parse ends the
// indexing of its segment: a crash can only cut a segment's tail.
//
// # Writing, and concurrent runs
//
// Put is write-behind: it queues the entry and returns, and one background
// goroutine appends the queue to this Cache's own segment. Get sees queued
// entries. Flush waits until everything queued is written and reports write
// failures; an entry still queued when the process exits is lost, which
// only costs a cache miss next time. Two provaudit runs on one directory
// each append to their own segment, so they never write the same file;
// each sees the other's entries from its next run on.
//
// With more than 32 segments, OpenCache merges them into one (keeping the
// newest record of every key) and removes them. Files are 0600, the
// directory 0700. Keys starting with "fetch/" are this package's own.
//
// # When writing fails, and read-only caches
//
// The cache only saves time, so it degrades instead of failing the run.
// When the directory cannot be created, or a write fails (a read-only
// directory, a full disk), the Cache stops writing for the rest of its life:
// later Puts store nothing, Gets still answer from what is readable, and
// Flush reports the first failure once, with the number of entries not
// stored, instead of one error per write.
//
// OpenCacheReadOnly opens a cache that is never changed: nothing is
// created, merged, appended or removed (the --offline mode).
//
// # What may be trusted
//
// Nothing in the directory is trusted by itself. Raw registry responses are
// verified again on every use; what is derived from verification is stored
// sealed under a per-user secret kept elsewhere ([Cache.PutSealed],
// [Cache.GetSealed], [LoadSecret]). OpenCache starts with a fresh random
// secret; a Client sets the one given in [Options].CacheSecret.
//
// A Cache is safe for concurrent use. A nil *Cache and the Cache of a
// Client with NoCache are disabled: Get always misses, Put does nothing.
type Cache struct {
	dir    string // the root given to OpenCache
	secret []byte // the MAC key of sealed entries (see GetSealed)

	mu      sync.Mutex
	indexed bool
	index   map[[32]byte]recordLoc
	readers map[string]*os.File // open segments by path

	out     io.Writer // this Cache's segment, created by the first write
	outPath string
	outSize int64

	// readOnly: OpenCacheReadOnly; nothing is ever written.
	readOnly bool
	// failed is the first write failure (or why the directory could not
	// be created): from then on nothing is written. notStored counts the
	// entries dropped since; failReported is set once Flush returned it.
	failed       error
	notStored    int64
	failReported bool
	// createFile creates the segment file; nil is os.OpenFile (0600,
	// exclusive). The tests of this package set it to make writes fail
	// as a full disk does.
	createFile func(path string) (io.Writer, error)

	pending      map[string]*pendingEntry
	order        []string // keys queued for writing, oldest first
	pendingBytes int
	writing      bool
	idle         *sync.Cond // signalled when the writer stops
	writeErrs    int64      // all write failures
}

// recordLoc is where a key's newest record is.
type recordLoc struct {
	path string
	off  int64 // of the header
	size int64 // header and data
}

// pendingEntry is data Put accepted that is not on disk yet.
type pendingEntry struct {
	data   []byte
	queued bool // false once the writer took it
}

// OpenCache returns a cache rooted at dir, creating the directory (0700).
// It merges the segments when there are more than 32 of them. A directory
// that cannot be created is no error: the Cache then stores nothing and
// Flush says why (see Cache).
func OpenCache(dir string) (*Cache, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty cache directory", ErrConfig)
	}
	c := &Cache{dir: dir, secret: newSecret()}
	if err := os.MkdirAll(c.segDir(), 0o700); err != nil {
		c.failed = err
		c.writeErrs = 1
		return c, nil
	}
	if segs, err := c.segments(); err == nil && len(segs) > compactAbove {
		// A failed merge leaves the segments as they are: still a
		// valid cache.
		_ = c.compact(segs)
	}
	return c, nil
}

// OpenCacheReadOnly returns a cache rooted at dir that is never changed:
// Get reads what is there (a missing directory is an empty cache), Put
// stores nothing, and nothing is created, merged or removed.
func OpenCacheReadOnly(dir string) (*Cache, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty cache directory", ErrConfig)
	}
	return &Cache{dir: dir, readOnly: true, secret: newSecret()}, nil
}

func (c *Cache) enabled() bool { return c != nil && c.dir != "" }

// Dir returns the cache's root directory ("" when disabled).
func (c *Cache) Dir() string {
	if c == nil {
		return ""
	}
	return c.dir
}

func (c *Cache) segDir() string { return filepath.Join(c.dir, cacheFormat) }

func keySum(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// segments lists the segment files, oldest first.
func (c *Cache) segments() ([]string, error) {
	ents, err := os.ReadDir(c.segDir())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".pack") {
			out = append(out, filepath.Join(c.segDir(), e.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

// Get returns the data stored under key; false when absent, unreadable or
// failing its checks.
func (c *Cache) Get(key string) ([]byte, bool) {
	if !c.enabled() {
		return nil, false
	}
	sum := keySum(key)
	c.mu.Lock()
	if e := c.pending[key]; e != nil {
		data := bytes.Clone(e.data)
		c.mu.Unlock()
		return data, true
	}
	if !c.indexed {
		c.buildIndex()
	}
	loc, ok := c.index[sum]
	var f *os.File
	if ok {
		f = c.reader(loc.path)
	}
	c.mu.Unlock()
	if f == nil {
		return nil, false
	}
	raw := make([]byte, loc.size)
	if _, err := f.ReadAt(raw, loc.off); err != nil {
		return nil, false
	}
	data, n, ok := decodeRecord(raw, &sum)
	if !ok || n != len(raw) {
		return nil, false
	}
	return data, true
}

// reader returns an open handle on a segment; c.mu is held.
func (c *Cache) reader(path string) *os.File {
	if f := c.readers[path]; f != nil {
		return f
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	if c.readers == nil {
		c.readers = map[string]*os.File{}
	}
	c.readers[path] = f
	return f
}

// buildIndex reads the record headers of every segment; c.mu is held.
func (c *Cache) buildIndex() {
	c.indexed = true
	if c.index == nil {
		c.index = map[[32]byte]recordLoc{}
	}
	segs, err := c.segments()
	if err != nil {
		return
	}
	for _, p := range segs {
		if p == c.outPath {
			continue // indexed as written
		}
		f := c.reader(p)
		if f == nil {
			continue
		}
		scanSegment(f, func(sum [32]byte, off, size int64) {
			c.index[sum] = recordLoc{path: p, off: off, size: size}
		})
	}
}

// scanSegment calls fn for every record header of a segment, in order,
// until the end or the first header that does not parse.
func scanSegment(f *os.File, fn func(sum [32]byte, off, size int64)) {
	var off int64
	head := make([]byte, maxHeader)
	for {
		n, err := f.ReadAt(head, off)
		if n == 0 {
			return
		}
		sum, hlen, dlen, ok := parseHeader(head[:n])
		if !ok {
			return
		}
		if err != nil && err != io.EOF {
			return
		}
		size := int64(hlen) + int64(dlen)
		fn(sum, off, size)
		off += size
	}
}

// parseHeader parses a record header at the start of b: the key hash, the
// header's length (newline included) and the data length.
func parseHeader(b []byte) (sum [32]byte, hlen, dlen int, ok bool) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 || nl >= maxHeader {
		return sum, 0, 0, false
	}
	f := bytes.Fields(b[:nl])
	if len(f) != 5 || string(f[0]) != "provaudit-cache" || string(f[1]) != cacheFormat {
		return sum, 0, 0, false
	}
	// hex.Decode writes past sum for a longer field: check the length
	// first (a poisoned cache must not crash the run).
	if len(f[2]) != 64 {
		return sum, 0, 0, false
	}
	if n, err := hex.Decode(sum[:], f[2]); err != nil || n != 32 {
		return sum, 0, 0, false
	}
	dlen, err := strconv.Atoi(string(f[3]))
	if err != nil || dlen < 0 || dlen > maxCacheEntry || len(f[4]) != 64 {
		return sum, 0, 0, false
	}
	return sum, nl + 1, dlen, true
}

// decodeRecord checks the record at the start of raw against want (the
// key's hash) and returns its data and the record's total length.
func decodeRecord(raw []byte, want *[32]byte) ([]byte, int, bool) {
	sum, hlen, dlen, ok := parseHeader(raw)
	if !ok || sum != *want || len(raw) < hlen+dlen {
		return nil, 0, false
	}
	f := bytes.Fields(raw[:hlen-1])
	data := raw[hlen : hlen+dlen]
	got := sha256.Sum256(data)
	if string(f[4]) != hex.EncodeToString(got[:]) {
		return nil, 0, false
	}
	return data, hlen + dlen, true
}

// encodeRecord returns the record of data under key.
func encodeRecord(key string, data []byte) []byte {
	k := keySum(key)
	d := sha256.Sum256(data)
	header := fmt.Sprintf("provaudit-cache %s %s %d %s\n", cacheFormat, hex.EncodeToString(k[:]), len(data), hex.EncodeToString(d[:]))
	return append(append(make([]byte, 0, len(header)+len(data)), header...), data...)
}

// Put queues data to be stored under key and returns; see Cache for when it
// reaches the disk. The data is copied. The error reports only what can be
// known now (an oversized entry); Flush reports failures of queued writes.
func (c *Cache) Put(key string, data []byte) error {
	if !c.enabled() || c.readOnly {
		return nil
	}
	if len(data) > maxCacheEntry {
		return fmt.Errorf("%w: cache entry of %d bytes", ErrTooLarge, len(data))
	}
	data = bytes.Clone(data)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending = map[string]*pendingEntry{}
		c.idle = sync.NewCond(&c.mu)
	}
	for c.pendingBytes+len(data) > maxPendingBytes && c.writing {
		c.idle.Wait()
	}
	if c.failed != nil {
		c.notStored++
		return nil
	}
	if e := c.pending[key]; e != nil && e.queued {
		c.pendingBytes += len(data) - len(e.data)
		e.data = data
	} else {
		// new, or the writer is busy with an older value: queue this one
		c.pending[key] = &pendingEntry{data: data, queued: true}
		c.pendingBytes += len(data)
		c.order = append(c.order, key)
	}
	if !c.writing {
		c.writing = true
		go c.drain()
	}
	return nil
}

// drain appends queued entries to the segment until the queue is empty,
// then exits.
func (c *Cache) drain() {
	c.mu.Lock()
	for len(c.order) > 0 {
		batch := c.order
		c.order = nil
		entries := make([]*pendingEntry, len(batch))
		for i, key := range batch {
			entries[i] = c.pending[key]
			entries[i].queued = false
		}
		c.mu.Unlock()
		locs, err := c.appendRecords(batch, entries)
		c.mu.Lock()
		if err != nil {
			// Stop writing: one failure is reported, not one per batch.
			c.failed = err
			c.writeErrs++
			c.notStored += int64(len(batch) + len(c.order))
			for _, key := range c.order {
				if e := c.pending[key]; e != nil {
					c.pendingBytes -= len(e.data)
					delete(c.pending, key)
				}
			}
			c.order = nil
		}
		for i, key := range batch {
			e := entries[i]
			if err == nil {
				if !c.indexed {
					c.buildIndex()
				}
				c.index[keySum(key)] = locs[i]
			}
			if c.pending[key] == e {
				delete(c.pending, key)
			}
			c.pendingBytes -= len(e.data)
		}
		c.idle.Broadcast()
	}
	c.writing = false
	c.idle.Broadcast()
	c.mu.Unlock()
}

// appendRecords writes entries at the end of this Cache's segment, creating
// it on first use, with one write call.
func (c *Cache) appendRecords(keys []string, entries []*pendingEntry) ([]recordLoc, error) {
	if c.out == nil {
		if err := c.createSegment(); err != nil {
			return nil, err
		}
	}
	var buf []byte
	locs := make([]recordLoc, len(keys))
	for i, key := range keys {
		rec := encodeRecord(key, entries[i].data)
		locs[i] = recordLoc{path: c.outPath, off: c.outSize + int64(len(buf)), size: int64(len(rec))}
		buf = append(buf, rec...)
	}
	n, err := c.out.Write(buf)
	c.outSize += int64(n)
	if err != nil {
		return nil, err
	}
	return locs, nil
}

// createSegment creates this Cache's segment file (0600).
func (c *Cache) createSegment() error {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("%020d-%s.pack", time.Now().UnixNano(), hex.EncodeToString(rnd[:]))
	p := filepath.Join(c.segDir(), name)
	create := c.createFile
	if create == nil {
		create = func(p string) (io.Writer, error) {
			return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		}
	}
	f, err := create(p)
	if err != nil {
		return err
	}
	c.out, c.outPath, c.outSize = f, p, 0
	return nil
}

// Flush waits until every queued entry is written and returns the write
// failures since the last Flush, or nil. After a failure the Cache stores
// nothing more, and the failure is returned once, with the number of
// entries not stored.
func (c *Cache) Flush() error {
	if !c.enabled() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.writing {
		c.idle.Wait()
	}
	if c.failed == nil || c.failReported {
		return nil
	}
	c.failReported = true
	return fmt.Errorf("the cache directory %s cannot be written: %w; caching stopped for this run (%d entries not stored; the audit does not depend on them)", c.dir, c.failed, c.notStored)
}

// WriteErrors counts failed writes since the Cache was opened: 0 or 1,
// since the Cache stops writing after the first (a directory that could
// not be created counts as one).
func (c *Cache) WriteErrors() int64 {
	if !c.enabled() {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeErrs
}

// compact merges segs into one segment holding the newest record of every
// key, then removes them. The merged segment is named after the newest of
// segs, so it sorts before any segment another run created meanwhile.
func (c *Cache) compact(segs []string) error {
	type rec struct {
		seg       string
		off, size int64
	}
	latest := map[[32]byte]rec{}
	var order [][32]byte
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, p := range segs {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		files[p] = f
		scanSegment(f, func(sum [32]byte, off, size int64) {
			if _, seen := latest[sum]; !seen {
				order = append(order, sum)
			}
			latest[sum] = rec{seg: p, off: off, size: size}
		})
	}
	newest := segs[len(segs)-1]
	merged := strings.TrimSuffix(newest, ".pack") + "-merged.pack"
	tmp, err := os.CreateTemp(c.segDir(), ".merge-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	for _, sum := range order {
		r := latest[sum]
		raw := make([]byte, r.size)
		if _, err := files[r.seg].ReadAt(raw, r.off); err != nil {
			continue
		}
		if _, _, ok := decodeRecord(raw, &sum); !ok {
			continue // corrupted: drop it, the caller refetches
		}
		if _, err := tmp.Write(raw); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), merged); err != nil {
		return err
	}
	for _, p := range segs {
		if p != merged {
			_ = os.Remove(p)
		}
	}
	return nil
}
