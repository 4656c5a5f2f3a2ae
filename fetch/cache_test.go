package fetch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// openCache opens a cache in a temporary directory, flushed at cleanup.
func openCache(t *testing.T, dir string) *Cache {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Flush() })
	return c
}

func TestCacheRoundTrip(t *testing.T) {
	c := openCache(t, "")
	if _, ok := c.Get("absent"); ok {
		t.Fatal("hit on an empty cache")
	}
	for _, data := range [][]byte{{}, []byte("x"), []byte("line1\nline2\n"), bytes.Repeat([]byte{0, 255, '\n'}, 10000)} {
		if err := c.Put("k", data); err != nil {
			t.Fatal(err)
		}
		got, ok := c.Get("k") // possibly still queued
		if !ok || !bytes.Equal(got, data) {
			t.Fatalf("Get = %d bytes, %v; want %d bytes", len(got), ok, len(data))
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		fromDisk, err := OpenCache(c.Dir())
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := fromDisk.Get("k"); !ok || !bytes.Equal(got, data) {
			t.Fatalf("from disk: %d bytes, %v; want %d bytes", len(got), ok, len(data))
		}
	}
	if err := c.Put("other", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get("k"); bytes.Equal(got, []byte("y")) {
		t.Error("keys collide")
	}
	if _, err := OpenCache(""); err == nil {
		t.Error("OpenCache(\"\") succeeded")
	}
}

// segmentOf returns the path of c's own segment (after a Flush).
func segmentOf(t *testing.T, c *Cache) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.outPath == "" {
		t.Fatal("the cache wrote no segment")
	}
	return c.outPath
}

func TestCacheCorruption(t *testing.T) {
	tests := []struct {
		name   string
		mangle func(raw []byte) []byte
	}{
		{"flipped data byte", func(raw []byte) []byte { raw[len(raw)-1] ^= 1; return raw }},
		{"flipped header byte", func(raw []byte) []byte { raw[40] ^= 1; return raw }},
		{"truncated", func(raw []byte) []byte { return raw[:len(raw)-3] }},
		{"empty file", func([]byte) []byte { return nil }},
		{"header only", func(raw []byte) []byte { return raw[:bytes.IndexByte(raw, '\n')+1] }},
		{"no header", func(raw []byte) []byte { return raw[bytes.IndexByte(raw, '\n')+1:] }},
		{"other format version", func(raw []byte) []byte {
			return bytes.Replace(raw, []byte(" v2 "), []byte(" v0 "), 1)
		}},
		{"wrong length", func(raw []byte) []byte {
			return bytes.Replace(raw, []byte(" 11 "), []byte(" 12 "), 1)
		}},
		{"record of another key", func(raw []byte) []byte {
			return encodeRecord("another key", []byte("hello world"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openCache(t, "")
			if err := c.Put("the key", []byte("hello world")); err != nil {
				t.Fatal(err)
			}
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			p := segmentOf(t, c)
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, tt.mangle(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			// The writing Cache rereads and rechecks its record; so does
			// a new one that indexes the damaged segment.
			if got, ok := c.Get("the key"); ok {
				t.Errorf("corrupted entry read as %q", got)
			}
			fresh, err := OpenCache(c.Dir())
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := fresh.Get("the key"); ok {
				t.Errorf("a new cache read the corrupted entry as %q", got)
			}
			// a new Put repairs it
			if err := fresh.Put("the key", []byte("fresh")); err != nil {
				t.Fatal(err)
			}
			if err := fresh.Flush(); err != nil {
				t.Fatal(err)
			}
			again, err := OpenCache(c.Dir())
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := again.Get("the key"); !ok || string(got) != "fresh" {
				t.Errorf("after repair: %q, %v", got, ok)
			}
		})
	}
}

// A record cut by a crash ends its segment's index; the records before it
// still read.
func TestCacheTornTail(t *testing.T) {
	c := openCache(t, "")
	for i := range 3 {
		if err := c.Put(fmt.Sprint("k", i), []byte(fmt.Sprint("value ", i))); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	p := segmentOf(t, c)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, raw[:len(raw)-4], 0o600); err != nil {
		t.Fatal(err)
	}
	fresh, err := OpenCache(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false} {
		if _, ok := fresh.Get(fmt.Sprint("k", i)); ok != want {
			t.Errorf("k%d: hit %v, want %v", i, ok, want)
		}
	}
}

// Past 32 segments OpenCache merges them, keeping the newest value of
// every key and dropping corrupted records.
func TestCacheCompaction(t *testing.T) {
	dir := t.TempDir()
	for run := range compactAbove + 3 {
		c, err := OpenCache(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Put("shared", []byte(fmt.Sprint("run ", run))); err != nil {
			t.Fatal(err)
		}
		if err := c.Put(fmt.Sprint("own ", run), []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := c.segments()
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) > 3 {
		t.Errorf("%d segments after compaction", len(segs))
	}
	if got, ok := c.Get("shared"); !ok || string(got) != fmt.Sprint("run ", compactAbove+2) {
		t.Errorf("shared = %q, %v; want the last run's value", got, ok)
	}
	for run := range compactAbove + 3 {
		if _, ok := c.Get(fmt.Sprint("own ", run)); !ok {
			t.Errorf("own %d lost in the merge", run)
		}
	}
}

// TestCacheConcurrentRuns has two Cache values on one directory (two
// provaudit runs) write and read the same keys concurrently: every read is
// a miss or one of the complete values, and no temporary file is left.
func TestCacheConcurrentRuns(t *testing.T) {
	dir := t.TempDir()
	a, b := openCache(t, dir), openCache(t, dir)
	value := func(writer, i int) []byte {
		return bytes.Repeat([]byte(fmt.Sprintf("writer %d value %d;", writer, i)), 2000)
	}
	valid := func(data []byte) bool {
		for w := range 2 {
			for i := range 50 {
				if bytes.Equal(data, value(w, i)) {
					return true
				}
			}
		}
		return false
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w, c := range []*Cache{a, b} {
		wg.Go(func() {
			for i := range 50 {
				if err := c.Put(fmt.Sprintf("key %d", i%5), value(w, i)); err != nil {
					errs <- err
				}
			}
		})
		wg.Go(func() {
			for i := range 200 {
				if data, ok := c.Get(fmt.Sprintf("key %d", i%5)); ok && !valid(data) {
					errs <- fmt.Errorf("read a mixed or partial value (%d bytes)", len(data))
				}
			}
		})
	}
	wg.Wait()
	for _, c := range []*Cache{a, b} {
		if err := c.Flush(); err != nil {
			t.Error(err)
		}
	}
	// both writers' last values were complete; the survivor is one of them
	for i := range 5 {
		if data, ok := a.Get(fmt.Sprintf("key %d", i)); !ok || !valid(data) {
			t.Errorf("key %d after the runs: %d bytes, %v", i, len(data), ok)
		}
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(filepath.Base(p), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCacheFilePermissions(t *testing.T) {
	c := openCache(t, "")
	if err := c.Put("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{segmentOf(t, c): 0o600, c.segDir(): 0o700 | os.ModeDir} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, st.Mode(), want)
		}
	}
}

func TestCacheWriteBehind(t *testing.T) {
	c := openCache(t, "")
	// the latest Put wins, also while an older value is being written
	for i := range 200 {
		if err := c.Put("k", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if got, ok := c.Get("k"); !ok || string(got) != fmt.Sprint(i) {
			t.Fatalf("Get after Put %d = %q, %v", i, got, ok)
		}
	}
	data := []byte("caller's buffer")
	if err := c.Put("copy", data); err != nil {
		t.Fatal(err)
	}
	data[0] = 'X'
	if got, _ := c.Get("copy"); string(got) != "caller's buffer" {
		t.Errorf("Put kept the caller's buffer: %q", got)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	disk, err := OpenCache(c.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := disk.Get("k"); !ok || string(got) != "199" {
		t.Errorf("on disk: %q, %v; want the last value", got, ok)
	}
	if c.pendingBytes != 0 || len(c.pending) != 0 || c.writing {
		t.Errorf("after Flush: %d bytes, %d entries pending, writing %v", c.pendingBytes, len(c.pending), c.writing)
	}
}

func TestCacheFlushReportsFailures(t *testing.T) {
	c := openCache(t, "")
	// the segment directory is gone: every write fails
	if err := os.RemoveAll(c.segDir()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.segDir(), []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Put("doomed", []byte("v")); err != nil {
		t.Fatalf("Put: %v (failures are Flush's to report)", err)
	}
	if err := c.Flush(); err == nil || !strings.Contains(err.Error(), "cache") {
		t.Fatalf("Flush = %v, want the write failure", err)
	}
	if c.WriteErrors() != 1 {
		t.Errorf("WriteErrors = %d", c.WriteErrors())
	}
	if err := c.Flush(); err != nil {
		t.Errorf("second Flush = %v, want the failure reported once", err)
	}
	if _, ok := c.Get("doomed"); ok {
		t.Error("a failed entry reads as a hit")
	}
}
