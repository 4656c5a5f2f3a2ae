package verdictstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
)

// storeKeys are n distinct keys.
func storeKeys(n int) []audit.StoreKey {
	keys := make([]audit.StoreKey, n)
	for i := range keys {
		k := testKey
		k.Name = fmt.Sprintf("pkg-%03d", i)
		keys[i] = k
	}
	return keys
}

func verdictOf(i int) []byte {
	return []byte(fmt.Sprintf(`{"sig":{"status":"verified","reason":"%d"},"att":{"status":"missing","reason":"none"}}`, i))
}

// backends runs f against fileblob and the in-process S3.
func backends(t *testing.T, f func(t *testing.T, url string)) {
	t.Run("file", func(t *testing.T) { f(t, fileURL(t)) })
	t.Run("s3", func(t *testing.T) { f(t, newS3Fake(t).url()) })
}

// What one store writes, another (another run, another machine) reads with
// the public key alone; keys never written read as absent.
func TestSaveThenLookup(t *testing.T) { backends(t, testSaveThenLookup) }

func testSaveThenLookup(t *testing.T, url string) {
	pub, priv := newKey(t)
	keys := storeKeys(10)
	var w warnings
	writer, err := Open(context.Background(), url, Options{SigningKey: priv, Warn: w.add, Tool: "provaudit test"})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys[:7] {
		writer.Save(k, verdictOf(i))
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	writer.Save(keys[9], verdictOf(9)) // after Close: ignored
	if n := writer.Stats(); n.Written != 7 || n.Unavailable {
		t.Fatalf("writer stats %+v", n)
	}
	// The writer has no public key: it reads nothing.
	if got := writer.Lookup(context.Background(), keys); countNonNil(got) != 0 {
		t.Fatalf("a store without a public key read %d records", countNonNil(got))
	}

	reader := openStore(t, url, Options{PublicKey: pub}, &w)
	got := reader.Lookup(context.Background(), keys)
	for i := range keys {
		switch {
		case i < 7 && string(got[i]) != string(verdictOf(i)):
			t.Errorf("key %d: %s, want %s", i, got[i], verdictOf(i))
		case i >= 7 && got[i] != nil:
			t.Errorf("key %d never written: %s", i, got[i])
		}
	}
	if n := reader.Stats(); n.Asked != 10 || n.Found != 7 || n.Ignored != 0 || n.Written != 0 {
		t.Errorf("reader stats %+v", n)
	}
	// A reader without a signing key writes nothing.
	reader.Save(keys[8], verdictOf(8))
	if err := reader.Close(); err != nil {
		t.Fatal(err)
	}
	if got := openStore(t, url, Options{PublicKey: pub}, nil).Lookup(context.Background(), keys[8:9]); got[0] != nil {
		t.Fatal("a store without a signing key wrote a record")
	}
	if m := w.list(); len(m) != 0 {
		t.Errorf("warnings: %q", m)
	}
}

func countNonNil(bs [][]byte) int {
	n := 0
	for _, b := range bs {
		if b != nil {
			n++
		}
	}
	return n
}

// A store opened without a public key sends no request at all, and one
// whose writer has another key finds nothing (records of other keys live
// in other folders).
func TestReaderWithoutKeyReadsNothing(t *testing.T) {
	f := newS3Fake(t)
	pub, priv := newKey(t)
	otherPub, _ := newKey(t)
	keys := storeKeys(3)
	w := openStore(t, f.url(), Options{SigningKey: priv}, nil)
	for i, k := range keys {
		w.Save(k, verdictOf(i))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.requests.Store(0)
	if got := w.Lookup(context.Background(), keys); countNonNil(got) != 0 || f.requests.Load() != 0 {
		t.Fatalf("without a public key: %d records, %d requests", countNonNil(got), f.requests.Load())
	}
	if got := openStore(t, f.url(), Options{PublicKey: otherPub}, nil).Lookup(context.Background(), keys); countNonNil(got) != 0 {
		t.Fatal("a reader of another key found records")
	}
	if got := openStore(t, f.url(), Options{PublicKey: pub}, nil).Lookup(context.Background(), keys); countNonNil(got) != 3 {
		t.Fatalf("the writer's key found %d of 3", countNonNil(got))
	}
}

// Records that are there but must not be used read as absent, are
// counted, and are reported in one warning.
func TestIgnoredRecordsWarnOnce(t *testing.T) { backends(t, testIgnoredRecordsWarnOnce) }

func testIgnoredRecordsWarnOnce(t *testing.T, url string) {
	pub, priv := newKey(t)
	_, other := newKey(t)
	keys := storeKeys(4)
	dir := keyDir(pub)
	// 0: good. 1: altered. 2: signed by another key. 3: made for
	// another key, stored under this one's.
	good, err := sealRecord(priv, keys[0], verdictOf(0), "", testNow)
	if err != nil {
		t.Fatal(err)
	}
	writeObject(t, url, objectKey(dir, keys[0]), good)
	rec1, err := sealRecord(priv, keys[1], verdictOf(1), "", testNow)
	if err != nil {
		t.Fatal(err)
	}
	writeObject(t, url, objectKey(dir, keys[1]), []byte(strings.Replace(string(rec1), `"payload":"`, `"payload":"A`, 1)))
	rec2, err := sealRecord(other, keys[2], verdictOf(2), "", testNow)
	if err != nil {
		t.Fatal(err)
	}
	writeObject(t, url, objectKey(dir, keys[2]), rec2)
	writeObject(t, url, objectKey(dir, keys[3]), good)

	var w warnings
	s := openStore(t, url, Options{PublicKey: pub}, &w)
	got := s.Lookup(context.Background(), keys)
	if string(got[0]) != string(verdictOf(0)) || got[1] != nil || got[2] != nil || got[3] != nil {
		t.Fatalf("lookup: %q", got)
	}
	if n := s.Stats(); n.Found != 1 || n.Ignored != 3 || n.Unavailable {
		t.Fatalf("stats %+v", n)
	}
	if m := w.list(); len(m) != 1 || !strings.Contains(m[0], "3 records ignored, verified again from the registry") {
		t.Fatalf("warnings %q", m)
	}
}

// A store that is down costs one failed read: the lookup ends, nothing is
// found, nothing is written afterwards, and one warning says so.
func TestStoreDown(t *testing.T) {
	f := newS3Fake(t)
	pub, priv := newKey(t)
	var w warnings
	s := openStore(t, f.url(), Options{PublicKey: pub, SigningKey: priv, Timeout: time.Second}, &w)
	f.srv.Close()
	keys := storeKeys(200)
	got := s.Lookup(context.Background(), keys)
	if countNonNil(got) != 0 || !s.Stats().Unavailable {
		t.Fatalf("lookup of a store that is down: %d found, %+v", countNonNil(got), s.Stats())
	}
	for i, k := range keys {
		s.Save(k, verdictOf(i))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m := w.list(); len(m) != 1 || !strings.Contains(m[0], "is unavailable") || !strings.Contains(m[0], "auditing without it") {
		t.Fatalf("warnings %q", m)
	}
	if n := s.Stats(); n.Written != 0 {
		t.Fatalf("wrote %d records to a store that is down", n.Written)
	}
}

// A store that answers too slowly costs one timeout, not one per package.
func TestStoreSlow(t *testing.T) {
	f := newS3Fake(t)
	pub, _ := newKey(t)
	f.delay.Store(int64(time.Minute))
	var w warnings
	timeout := 300 * time.Millisecond
	s := openStore(t, f.url(), Options{PublicKey: pub, Timeout: timeout, ReadConcurrency: 4}, &w)
	start := time.Now()
	got := s.Lookup(context.Background(), storeKeys(100))
	// 100 keys, 4 at a time: were every read to wait for its own timeout
	// it would take 25 timeouts.
	if d := time.Since(start); d > 10*timeout {
		t.Fatalf("lookup took %v with a timeout of %v", d, timeout)
	}
	if countNonNil(got) != 0 || w.count("is unavailable") != 1 || len(w.list()) != 1 {
		t.Fatalf("found %d; warnings %q", countNonNil(got), w.list())
	}
	if f.gets.Load() > 8 {
		t.Fatalf("%d reads sent to a store that timed out", f.gets.Load())
	}
}

// The first write that fails is reported once and ends writing: a store
// that refuses writes costs one timeout at most, and the lookup result
// stays whatever it was.
func TestWriteFailureWarnsOnce(t *testing.T) {
	f := newS3Fake(t)
	_, priv := newKey(t)
	var w warnings
	s := openStore(t, f.url(), Options{SigningKey: priv, Concurrency: 2, Timeout: time.Second}, &w)
	f.fail.Store(true)
	for i, k := range storeKeys(50) {
		s.Save(k, verdictOf(i))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m := w.list(); len(m) != 1 || !strings.Contains(m[0], "writing a record failed") {
		t.Fatalf("warnings %q", m)
	}
	if n := s.Stats(); n.Written != 0 {
		t.Fatalf("stats %+v", n)
	}
	if r := f.requests.Load(); r > 20 {
		t.Fatalf("%d requests after the first write failed", r)
	}
}

// An interrupted lookup (the run is cancelled) ends at once and does not
// make the store unavailable or warn.
func TestLookupCancelled(t *testing.T) {
	f := newS3Fake(t)
	pub, _ := newKey(t)
	f.delay.Store(int64(time.Minute))
	var w warnings
	s := openStore(t, f.url(), Options{PublicKey: pub, Timeout: time.Minute}, &w)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	got := s.Lookup(ctx, storeKeys(10))
	if countNonNil(got) != 0 || s.Stats().Unavailable || len(w.list()) != 0 {
		t.Fatalf("found %d, %+v, warnings %q", countNonNil(got), s.Stats(), w.list())
	}
}

func TestOpenErrors(t *testing.T) {
	pub, _ := newKey(t)
	for _, c := range []struct {
		name, url string
		opts      Options
		want      string
	}{
		{"other scheme", "https://example.invalid/bucket", Options{PublicKey: pub}, `scheme "https"`},
		{"no scheme", "/tmp/store", Options{PublicKey: pub}, `scheme ""`},
		{"malformed", "s3://bucket%zz", Options{PublicKey: pub}, "invalid URL escape"},
		{"bad parameter", "s3://bucket?region=us-east-1&use_path_style=maybe", Options{PublicKey: pub}, "use_path_style"},
		{"missing folder", "file:///nonexistent/provaudit-verdicts", Options{PublicKey: pub}, "nonexistent"},
		{"no keys", fileURL(t), Options{}, "no public key to read it and no signing key to write it"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(context.Background(), c.url, c.opts)
			if !errors.Is(err, ErrOpen) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open(%q): %v, want %q", c.url, err, c.want)
			}
			if s != nil {
				t.Fatal("a store came with the error")
			}
		})
	}
}

// gs:// needs the Google application default credentials: without them
// Open fails (the Go CDK's own opener would print on stdout and go on);
// with them it opens without contacting anything. The credentials file
// given is read before any other source is tried, so no metadata server is
// asked.
func TestOpenGCS(t *testing.T) {
	pub, _ := newKey(t)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	_, err := Open(context.Background(), "gs://verdicts", Options{PublicKey: pub})
	if !errors.Is(err, ErrOpen) || !strings.Contains(err.Error(), "gs://verdicts: no Google application default credentials") {
		t.Fatalf("Open without credentials: %v", err)
	}
	creds := filepath.Join(t.TempDir(), "creds.json")
	if err := os.WriteFile(creds, []byte(`{"type": "authorized_user", "client_id": "id", "client_secret": "secret", "refresh_token": "token"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", creds)
	for _, u := range []string{"gs://verdicts", "gs://verdicts?prefix=team/"} {
		s, err := Open(context.Background(), u, Options{PublicKey: pub})
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// prefix= keeps the records under a folder of the bucket.
func TestPrefix(t *testing.T) {
	pub, priv := newKey(t)
	url := fileURL(t)
	w := openStore(t, url+"?prefix=team-a/", Options{SigningKey: priv}, nil)
	w.Save(testKey, []byte(testVerdict))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	keys := listKeys(t, url)
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "team-a/"+keyPrefix) {
		t.Fatalf("keys %q", keys)
	}
	if got := openStore(t, url+"?prefix=team-a/", Options{PublicKey: pub}, nil).Lookup(context.Background(), []audit.StoreKey{testKey}); string(got[0]) != testVerdict {
		t.Fatalf("lookup under the prefix: %q", got)
	}
	if got := openStore(t, url, Options{PublicKey: pub}, nil).Lookup(context.Background(), []audit.StoreKey{testKey}); got[0] != nil {
		t.Fatal("found outside the prefix")
	}
}

// Messages name the store without its query (which may carry a profile
// or an endpoint with credentials) or user information.
func TestRedactedName(t *testing.T) {
	f := newS3Fake(t)
	pub, _ := newKey(t)
	var w warnings
	u := strings.Replace(f.url(), "s3://", "s3://user:secret@", 1)
	s := openStore(t, u, Options{PublicKey: pub, Timeout: time.Second}, &w)
	f.srv.Close()
	s.Lookup(context.Background(), storeKeys(1))
	m := w.list()
	if len(m) != 1 || !strings.Contains(m[0], "s3://verdicts ") || strings.Contains(m[0], "secret") || strings.Contains(m[0], "endpoint=") {
		t.Fatalf("warnings %q", m)
	}
}
