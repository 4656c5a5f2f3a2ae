package evidence

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRecordReplay records answers of every kind and replays them: the same
// status, Content-Type and body (as far as the client read it), redirects
// followed from the recording, a refused request failing with its recorded
// error, anything unrecorded failing with ErrNotRecorded naming it, and the
// server never asked.
func TestRecordReplay(t *testing.T) {
	data, url := testBundle(t)
	b, err := Read(bytes.NewReader(data), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	m := b.Manifest
	if len(m.Responses) != 6 || len(m.Failures) != 1 {
		t.Fatalf("%d answers and %d failures recorded, want 6 (doc twice, missing, moved and its target, big) and 1", len(m.Responses), len(m.Failures))
	}
	if !strings.Contains(m.Failures[0].Error, "127.0.0.1:1") {
		t.Errorf("failure %+v does not say what failed", m.Failures[0])
	}
	rt := b.Transport()
	for _, c := range []struct {
		path, accept, ctype, body string
		status                    int
	}{
		{"/doc", "application/json", "application/json", `{"accept":"application/json"}`, 200},
		{"/doc", "text/plain", "application/json", `{"accept":"text/plain"}`, 200},
		{"/missing", "", "application/json", `{"error":"Not found"}`, 404},
		{"/moved", "", "application/json", `{"accept":""}`, 200},
		{"/big", "", "text/plain; charset=utf-8", strings.Repeat("x", 1000), 200},
	} {
		status, ctype, body, err := get(t, rt, url+c.path, c.accept, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if status != c.status || ctype != c.ctype || string(body) != c.body {
			t.Errorf("%s (Accept %q): %d %q %.40q, want %d %q %.40q", c.path, c.accept, status, ctype, body, c.status, c.ctype, c.body)
		}
	}
	for _, r := range m.Responses {
		if strings.Contains(r.URL, "moved") && (r.Status != http.StatusFound || r.Location != "/doc") {
			t.Errorf("redirect recorded as %+v", r)
		}
	}
	if bytes.Contains(data, []byte("secret-token")) || bytes.Contains(data, []byte("not recorded")) {
		t.Error("a request credential or an unneeded header is in the bundle")
	}

	_, _, _, err = get(t, rt, "http://127.0.0.1:1/refused", "", 0)
	if !errors.Is(err, ErrNotRecorded) || !strings.Contains(err.Error(), "got no answer when the bundle was recorded") {
		t.Errorf("recorded failure: %v", err)
	}
	_, _, _, err = get(t, rt, url+"/doc", "application/vnd.other", 0)
	if !errors.Is(err, ErrNotRecorded) || !strings.Contains(err.Error(), "GET "+url+"/doc (Accept: application/vnd.other) was not recorded") {
		t.Errorf("unrecorded request: %v", err)
	}
}

// TestReplayTouchesNoNetwork replays against a live server: it is never
// asked.
func TestReplayTouchesNoNetwork(t *testing.T) {
	srv, n := testServer(t)
	b := mustRead(t, recordBundle(t, RecorderOptions{}, srv.URL, "/doc"))
	before := n.Load()
	for range 3 {
		if _, _, _, err := get(t, b.Transport(), srv.URL+"/doc", "", 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := get(t, b.Transport(), srv.URL+"/missing", "", 0); !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("unrecorded: %v", err)
	}
	if got := n.Load() - before; got != 0 {
		t.Fatalf("replay made %d requests to the server", got)
	}
}

// TestWriteBundleDeterministic writes the same recording twice: the same
// bytes, whatever order the requests came in.
func TestWriteBundleDeterministic(t *testing.T) {
	srv, _ := testServer(t)
	var outs [][]byte
	for _, order := range [][]string{{"/doc", "/missing", "/moved"}, {"/moved", "/missing", "/doc"}} {
		outs = append(outs, recordBundle(t, RecorderOptions{}, srv.URL, order...))
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatal("the same recording in another order writes other bytes")
	}
}

// TestRecorderReduces applies the reduction to successful answers only,
// keeps the original when it fails, and marks reduced answers.
func TestRecorderReduces(t *testing.T) {
	srv, _ := testServer(t)
	b := mustRead(t, recordBundle(t, RecorderOptions{Reduce: func(req *http.Request) func(io.Reader) ([]byte, error) {
		switch req.URL.Path {
		case "/doc", "/missing":
			return func(io.Reader) ([]byte, error) { return []byte("reduced"), nil }
		case "/big":
			return func(io.Reader) ([]byte, error) { return nil, errors.New("cannot") }
		}
		return nil
	}}, srv.URL, "/doc", "/missing", "/big"))
	for _, r := range b.Manifest.Responses {
		body := string(b.Member(r.Member))
		switch {
		case strings.HasSuffix(r.URL, "/doc"):
			if !r.Reduced || body != "reduced" {
				t.Errorf("/doc: reduced %v, body %.20q", r.Reduced, body)
			}
		case strings.HasSuffix(r.URL, "/missing"), strings.HasSuffix(r.URL, "/big"):
			if r.Reduced || body == "reduced" {
				t.Errorf("%s (status %d) reduced", r.URL, r.Status)
			}
		}
	}
}

// recordBundle records GETs of paths on base through a Recorder with opts
// (in a temporary spool folder) and returns the bundle.
func recordBundle(t *testing.T, opts RecorderOptions, base string, paths ...string) []byte {
	t.Helper()
	opts.Dir = t.TempDir()
	rec, err := NewRecorder(http.DefaultTransport, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if _, _, _, err := get(t, rec, base+p, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := rec.WriteBundle(&buf, testManifest(base+"/"), embeddedTrust()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustRead(t *testing.T, data []byte) *Bundle {
	t.Helper()
	b, err := Read(bytes.NewReader(data), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRecorderBroken: an answer that cannot be spooled fails its request
// and the bundle: an incomplete recording is never written.
func TestRecorderBroken(t *testing.T) {
	srv, _ := testServer(t)
	dir := t.TempDir()
	rec, err := NewRecorder(http.DefaultTransport, RecorderOptions{Dir: dir + "/gone"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := get(t, rec, srv.URL+"/doc", "", 0); err == nil || !strings.Contains(err.Error(), "spooling the answer to GET "+srv.URL+"/doc") {
		t.Fatalf("request: %v", err)
	}
	var buf bytes.Buffer
	if _, err := rec.WriteBundle(&buf, testManifest(srv.URL+"/"), embeddedTrust()); err == nil || buf.Len() != 0 {
		t.Fatalf("WriteBundle after a lost answer: %v, %d bytes", err, buf.Len())
	}
	if _, err := NewRecorder(http.DefaultTransport, RecorderOptions{}); err == nil {
		t.Fatal("a recorder without a spool folder")
	}
}
