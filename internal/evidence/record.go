package evidence

import (
	"archive/tar"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"sync"
	"time"
)

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	// Dir is the folder bodies are spooled to while recording (required;
	// the caller removes it).
	Dir string
	// Reduce, when it returns a function for a request, replaces the body
	// of a successful answer to it with what the function returns for the
	// body (when it returns no error) as the bundle is written: see
	// fetch.PackumentReducer.
	Reduce func(*http.Request) func(io.Reader) ([]byte, error)
}

// Recorder is an http.RoundTripper that passes requests to a real
// transport and records every answer (status, the Content-Type and
// Location headers, and the body as the client read it) by method, URL and
// Accept header, and every request that got no answer. Request headers
// other than Accept, credentials among them, are not recorded. It is safe
// for concurrent use.
type Recorder struct {
	base   http.RoundTripper
	dir    string
	reduce func(*http.Request) func(io.Reader) ([]byte, error)

	mu       sync.Mutex
	answers  map[Request]*recorded
	failures map[Request]string
	err      error // a body that could not be spooled: the recording is incomplete
}

// recorded is an answer spooled to disk.
type recorded struct {
	resp   Response
	path   string
	size   int64
	sum    string
	reduce func(io.Reader) ([]byte, error)
}

// NewRecorder returns a Recorder around base.
func NewRecorder(base http.RoundTripper, opts RecorderOptions) (*Recorder, error) {
	if base == nil || opts.Dir == "" {
		return nil, errors.New("evidence: a recorder needs a transport and a spool folder")
	}
	return &Recorder{base: base, dir: opts.Dir, reduce: opts.Reduce, answers: map[Request]*recorded{}, failures: map[Request]string{}}, nil
}

// requestOf is the key a request is recorded and replayed under: its
// method, its URL without userinfo and its Accept header.
func requestOf(req *http.Request) Request {
	u := *req.URL
	u.User = nil
	return Request{Method: req.Method, URL: u.String(), Accept: req.Header.Get("Accept")}
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	key := requestOf(req)
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		r.fail(key, err.Error())
		return nil, err
	}
	f, err := os.CreateTemp(r.dir, "body-*")
	if err != nil {
		resp.Body.Close()
		err = fmt.Errorf("evidence: spooling the answer to %s: %w", key, err)
		r.broken(err)
		return nil, err
	}
	rec := &recorded{path: f.Name(), resp: Response{
		Request:     key,
		Status:      resp.StatusCode,
		ContentType: resp.Header.Get("Content-Type"),
		Location:    resp.Header.Get("Location"),
	}}
	if r.reduce != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		rec.reduce = r.reduce(req)
	}
	resp.Body = &spoolBody{rc: resp.Body, f: f, h: sha256.New(), r: r, rec: rec}
	return resp, nil
}

// CloseIdleConnections forwards to the real transport.
func (r *Recorder) CloseIdleConnections() {
	if ci, ok := r.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

func (r *Recorder) fail(key Request, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.answers[key]; ok {
		return // an answer is never replaced by a failure
	}
	r.failures[key] = msg
}

func (r *Recorder) broken(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

func (r *Recorder) commit(rec *recorded) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.answers[rec.resp.Request]; ok {
		os.Remove(old.path)
	}
	r.answers[rec.resp.Request] = rec
	delete(r.failures, rec.resp.Request)
}

// spoolBody copies what the client reads to the spool file and commits the
// answer when the client closes it.
type spoolBody struct {
	rc       io.ReadCloser
	f        *os.File
	h        hash.Hash
	n        int64
	r        *Recorder
	rec      *recorded
	readErr  error
	spoolErr error
	once     sync.Once
}

func (b *spoolBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 && b.spoolErr == nil {
		if _, werr := b.f.Write(p[:n]); werr != nil {
			b.spoolErr = werr
		}
		b.h.Write(p[:n])
		b.n += int64(n)
	}
	if err != nil && err != io.EOF && b.readErr == nil {
		b.readErr = err
	}
	return n, err
}

func (b *spoolBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		if cerr := b.f.Close(); cerr != nil && b.spoolErr == nil {
			b.spoolErr = cerr
		}
		switch {
		case b.spoolErr != nil:
			os.Remove(b.f.Name())
			b.r.broken(fmt.Errorf("evidence: spooling the answer to %s: %w", b.rec.resp.Request, b.spoolErr))
		case b.readErr != nil:
			os.Remove(b.f.Name())
			b.r.fail(b.rec.resp.Request, "reading the body: "+b.readErr.Error())
		default:
			b.rec.size, b.rec.sum = b.n, hex.EncodeToString(b.h.Sum(nil))
			b.r.commit(b.rec)
		}
	})
	return err
}

// Recorded counts the answers and failures recorded so far.
func (r *Recorder) Recorded() (answers, failures int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.answers), len(r.failures)
}

// Member names of a bundle.
const (
	responsesDir = "responses/"
	// TrustedRootMember, NpmKeysMember and TUFMember hold the recorded
	// trust material.
	TrustedRootMember = "trust/trusted_root.json"
	NpmKeysMember     = "trust/npm-keys.json"
	TUFMember         = "trust/tuf.json"
)

// member is one member to write: data, or the file at path.
type member struct {
	name string
	data []byte
	path string
	size int64
	sum  string
}

// WriteBundle writes the bundle: m (whose Responses, Failures and Members
// it fills in) as manifest.json, the recorded bodies as responses/NNNNNN,
// and extra (the trust material: name -> bytes). The output depends only on
// what was recorded, m and extra, not on the order requests were made in.
// It fails when a body could not be recorded.
func (r *Recorder) WriteBundle(w io.Writer, m *Manifest, extra map[string][]byte) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	keys := make([]Request, 0, len(r.answers))
	for k := range r.answers {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareRequests)
	var members []member
	m.Responses = make([]Response, 0, len(keys))
	for i, k := range keys {
		rec := r.answers[k]
		resp := rec.resp
		resp.Member = fmt.Sprintf("%s%06d", responsesDir, i+1)
		mem := member{name: resp.Member, path: rec.path, size: rec.size, sum: rec.sum}
		if rec.reduce != nil {
			if data, ok := reduceFile(rec.path, rec.reduce); ok {
				sum := sha256.Sum256(data)
				mem = member{name: resp.Member, data: data, size: int64(len(data)), sum: hex.EncodeToString(sum[:])}
				resp.Reduced = true
			}
		}
		m.Responses = append(m.Responses, resp)
		members = append(members, mem)
	}
	m.Failures = make([]Failure, 0, len(r.failures))
	for k, msg := range r.failures {
		m.Failures = append(m.Failures, Failure{Request: k, Error: msg})
	}
	slices.SortFunc(m.Failures, func(a, b Failure) int { return compareRequests(a.Request, b.Request) })
	for name, data := range extra {
		sum := sha256.Sum256(data)
		members = append(members, member{name: name, data: data, size: int64(len(data)), sum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(members, func(i, j int) bool { return members[i].name < members[j].name })
	m.Members = make([]Member, len(members))
	for i, mem := range members {
		m.Members[i] = Member{Name: mem.name, SHA256: mem.sum, Size: mem.size}
	}
	if err := m.validate(DefaultLimits); err != nil {
		return 0, fmt.Errorf("evidence: the manifest would not be valid: %w", err)
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return 0, err
	}
	return writeArchive(w, m.Recorded, append([]member{{name: ManifestName, data: manifest, size: int64(len(manifest))}}, members...))
}

func compareRequests(a, b Request) int {
	return cmp.Or(cmp.Compare(a.URL, b.URL), cmp.Compare(a.Accept, b.Accept), cmp.Compare(a.Method, b.Method))
}

// reduceFile applies reduce to a spooled body; ok is false when it fails
// (the body is then kept as it came).
func reduceFile(path string, reduce func(io.Reader) ([]byte, error)) ([]byte, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	data, err := reduce(f)
	return data, err == nil
}

// writeArchive writes members as a gzipped tar with fixed metadata, and
// returns the bytes written.
func writeArchive(w io.Writer, mtime time.Time, members []member) (int64, error) {
	cw := &countWriter{w: w}
	zw := gzip.NewWriter(cw)
	tw := tar.NewWriter(zw)
	for _, mem := range members {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: mem.name, Mode: 0o644, Size: mem.size, ModTime: mtime.UTC().Truncate(time.Second)}
		if err := tw.WriteHeader(hdr); err != nil {
			return 0, err
		}
		if err := copyMember(tw, mem); err != nil {
			return 0, fmt.Errorf("evidence: member %s: %w", mem.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

func copyMember(w io.Writer, mem member) error {
	if mem.path == "" {
		_, err := w.Write(mem.data)
		return err
	}
	f, err := os.Open(mem.path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), f)
	if err == nil && (n != mem.size || hex.EncodeToString(h.Sum(nil)) != mem.sum) {
		err = errors.New("the spooled body changed after it was recorded")
	}
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
