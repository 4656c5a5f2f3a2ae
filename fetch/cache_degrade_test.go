package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/provaudit/provaudit/internal/registrytest"
)

// DirDigest hashes every file and directory under dir (names, modes,
// contents): equal digests mean the tree was left byte for byte as it was.
func dirDigest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s %v %d\n", rel, fi.Mode(), fi.Size())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// manySegments leaves more segments in dir than OpenCache tolerates before
// merging them, so that a cache that merges would change the directory.
func manySegments(t *testing.T, dir string) {
	t.Helper()
	for run := range compactAbove + 2 {
		c := &Cache{dir: dir}
		if err := os.MkdirAll(c.segDir(), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := c.Put(fmt.Sprint("run ", run), []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if segs, _ := (&Cache{dir: dir}).segments(); len(segs) <= compactAbove {
		t.Fatalf("%d segments, want more than %d", len(segs), compactAbove)
	}
}

// TestOfflineLeavesCacheUntouched: an offline Client reads its cache and
// changes nothing in it: no merge of the many segments, no write of what it
// reads or misses, no directory created where there was none.
func TestOfflineLeavesCacheUntouched(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t, registrytest.Package{Name: "a", Version: "1.0.0", Signed: true, Attested: true})
	dir := t.TempDir()
	cfg := testConfig(t, r.URL(), "")
	online := testClient(t, cfg, Options{CacheDir: dir})
	m, err := online.Manifest(context.Background(), "a", "1.0.0", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := online.Attestations(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := online.Close(); err != nil {
		t.Fatal(err)
	}
	manySegments(t, dir)
	before := dirDigest(t, dir)

	off := testClient(t, cfg, Options{CacheDir: dir, Offline: true})
	m, err = off.Manifest(context.Background(), "a", "1.0.0", "")
	if err != nil || !m.FromCache {
		t.Fatalf("offline Manifest: %+v, %v", m, err)
	}
	if _, err := off.Attestations(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if _, err := off.Manifest(context.Background(), "b", "1.0.0", ""); !errors.Is(err, ErrNotInCache) {
		t.Fatalf("missing package offline: %v", err)
	}
	if err := off.Cache().Put("verdict/x", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := off.Close(); err != nil {
		t.Fatal(err)
	}
	if after := dirDigest(t, dir); after != before {
		t.Error("an offline run changed the cache directory")
	}

	absent := filepath.Join(t.TempDir(), "no-cache-here")
	off = testClient(t, cfg, Options{CacheDir: absent, Offline: true})
	if _, err := off.Manifest(context.Background(), "a", "1.0.0", ""); !errors.Is(err, ErrNotInCache) {
		t.Fatalf("offline without a cache: %v", err)
	}
	if err := off.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(absent); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an offline run created %s: %v", absent, err)
	}
}

// fullDisk is a segment file that takes limit bytes and then fails as a
// full disk does (a short write, then ENOSPC), counting write calls.
type fullDisk struct {
	f      *os.File
	left   int
	writes *atomic.Int64
}

func (d *fullDisk) Write(p []byte) (int, error) {
	d.writes.Add(1)
	if len(p) <= d.left {
		d.left -= len(p)
		return d.f.Write(p)
	}
	n, _ := d.f.Write(p[:d.left])
	d.left = 0
	return n, &fs.PathError{Op: "write", Path: d.f.Name(), Err: syscall.ENOSPC}
}

// fullDiskCache opens a cache in dir whose segment takes left bytes and then
// fails as a full disk does; writes counts the write calls.
func fullDiskCache(t *testing.T, dir string, left int) (*Cache, *atomic.Int64) {
	t.Helper()
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	writes := new(atomic.Int64)
	c.createFile = func(p string) (io.Writer, error) {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { f.Close() })
		return &fullDisk{f: f, left: left, writes: writes}, nil
	}
	return c, writes
}

// TestCacheFullDisk: when the disk fills up, the cache reports the failure
// once (not once per write), stores nothing more, keeps serving what was
// written, and never serves a torn record.
func TestCacheFullDisk(t *testing.T) {
	dir := t.TempDir()
	c, writes := fullDiskCache(t, dir, 4<<10)
	value := func(i int) []byte { return []byte(strings.Repeat(fmt.Sprint(i, ";"), 100)) }
	var failures []error
	for i := range 500 {
		if err := c.Put(fmt.Sprint("k", i), value(i)); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
		// Flush often: many batches, each of which would fail on its own.
		if err := c.Flush(); err != nil {
			failures = append(failures, err)
		}
	}
	if len(failures) != 1 || !errors.Is(failures[0], syscall.ENOSPC) {
		t.Fatalf("Flush reported %v, want the ENOSPC failure once", failures)
	}
	if c.WriteErrors() != 1 {
		t.Errorf("WriteErrors = %d, want 1", c.WriteErrors())
	}
	w := writes.Load()
	for i := range 100 {
		_ = c.Put(fmt.Sprint("late", i), value(i))
	}
	if err := c.Flush(); err != nil {
		t.Errorf("Flush after the failure was reported: %v", err)
	}
	if writes.Load() != w {
		t.Errorf("%d writes after the disk filled up", writes.Load()-w)
	}
	hits := 0
	for i := range 500 {
		if got, ok := c.Get(fmt.Sprint("k", i)); ok {
			hits++
			if string(got) != string(value(i)) {
				t.Fatalf("k%d read back as %q", i, got)
			}
		}
	}
	if hits == 0 || hits == 500 {
		t.Errorf("%d of 500 entries readable, want those written before the disk filled up", hits)
	}
	// A fresh Cache on the directory reads the same, and nothing torn.
	fresh, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if got, ok := fresh.Get(fmt.Sprint("k", i)); ok && string(got) != string(value(i)) {
			t.Fatalf("k%d read back as %q after reopening", i, got)
		}
	}
}

// TestCacheFullDiskReportedOnce checks the report itself: Flush returns the
// ENOSPC failure once, with the number of entries not stored.
func TestCacheFullDiskReportedOnce(t *testing.T) {
	c, writes := fullDiskCache(t, t.TempDir(), 0)
	for i := range 300 {
		_ = c.Put(fmt.Sprint("k", i), []byte("value"))
	}
	err := c.Flush()
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "not stored") || strings.Count(err.Error(), "no space left") != 1 {
		t.Fatalf("Flush = %v, want the ENOSPC failure once with the count of entries not stored", err)
	}
	if err := c.Flush(); err != nil {
		t.Errorf("second Flush = %v", err)
	}
	if writes.Load() > 2 {
		t.Errorf("%d write attempts: writing went on after the failure", writes.Load())
	}
}

// TestCacheUnwritableDirectory: a cache directory that cannot be created
// (a file is in the way; permissions do not stop root) is not an error: the
// Client works without caching and Close says why, once.
func TestCacheUnwritableDirectory(t *testing.T) {
	checkGoroutines(t)
	r := newRT(t, registrytest.Package{Name: "a", Version: "1.0.0", Signed: true})
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(testConfig(t, r.URL(), ""), Options{CacheDir: filepath.Join(blocker, "cache")})
	if err != nil {
		t.Fatalf("NewClient: %v (an unwritable cache must not stop the audit)", err)
	}
	for range 3 {
		if _, err := c.Manifest(context.Background(), "a", "1.0.0", ""); err != nil {
			t.Fatal(err)
		}
	}
	err = c.Close()
	if err == nil || !strings.Contains(err.Error(), blocker) || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("Close = %q, want one line naming the directory", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}
