package npmrig

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// trustedRootTarget is the TUF target npm (sigstore-js) loads the Sigstore
// trust material from.
const trustedRootTarget = "trusted_root.json"

// tufLifetime is how long the repository's metadata stays valid.
const tufLifetime = 10 * 365 * 24 * time.Hour

// tufRepo is a complete TUF repository with consistent snapshots: version 1
// of every role, signed by one ed25519 key, and its targets.
type tufRepo struct {
	root    []byte            // 1.root.json, the trusted root to seed
	targets map[string][]byte // target name -> contents
	files   map[string][]byte // URL path without leading "/" -> body

	mu       sync.Mutex
	requests map[string]int // URL path -> requests served (any status)
}

// newTUFRepo builds and signs a repository holding targets (name ->
// contents). Metadata expires tufLifetime after now.
func newTUFRepo(targets map[string][]byte, now time.Time) (*tufRepo, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("%w: TUF repository without targets", ErrSetup)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: TUF key: %w", ErrSetup, err)
	}
	signer, err := signature.LoadED25519Signer(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: TUF signer: %w", ErrSetup, err)
	}
	key, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("%w: TUF key: %w", ErrSetup, err)
	}
	expires := now.Add(tufLifetime).UTC().Truncate(time.Second)

	repo := &tufRepo{
		targets:  make(map[string][]byte, len(targets)),
		files:    map[string][]byte{},
		requests: map[string]int{},
	}

	tg := metadata.Targets(expires)
	for _, name := range sortedNames(targets) {
		data := targets[name]
		if err := checkTargetName(name); err != nil {
			return nil, err
		}
		tf, err := metadata.TargetFile().FromBytes(name, data, "sha256")
		if err != nil {
			return nil, fmt.Errorf("%w: TUF target %s: %w", ErrSetup, name, err)
		}
		tg.Signed.Targets[name] = tf
		repo.targets[name] = append([]byte(nil), data...)
		// Consistent snapshots: targets/<dir>/<sha256>.<base>, as tuf-js
		// and go-tuf ask for them.
		dir, base := path.Split(name)
		repo.files["targets/"+dir+hex.EncodeToString(tf.Hashes["sha256"])+"."+base] = repo.targets[name]
	}
	targetsJSON, err := signAndMarshal(tg, signer)
	if err != nil {
		return nil, err
	}

	sn := metadata.Snapshot(expires)
	sn.Signed.Meta["targets.json"], err = metaFile(1, targetsJSON)
	if err != nil {
		return nil, err
	}
	snapshotJSON, err := signAndMarshal(sn, signer)
	if err != nil {
		return nil, err
	}

	ts := metadata.Timestamp(expires)
	ts.Signed.Meta["snapshot.json"], err = metaFile(1, snapshotJSON)
	if err != nil {
		return nil, err
	}
	timestampJSON, err := signAndMarshal(ts, signer)
	if err != nil {
		return nil, err
	}

	root := metadata.Root(expires)
	for _, role := range []string{metadata.ROOT, metadata.TIMESTAMP, metadata.SNAPSHOT, metadata.TARGETS} {
		if err := root.Signed.AddKey(key, role); err != nil {
			return nil, fmt.Errorf("%w: TUF root key for %s: %w", ErrSetup, role, err)
		}
	}
	rootJSON, err := signAndMarshal(root, signer)
	if err != nil {
		return nil, err
	}

	repo.root = rootJSON
	repo.files["1.root.json"] = rootJSON
	repo.files["timestamp.json"] = timestampJSON
	repo.files["1.snapshot.json"] = snapshotJSON
	repo.files["1.targets.json"] = targetsJSON
	return repo, nil
}

// checkTargetName rejects target names that cannot be served as a URL path
// and a cache file name.
func checkTargetName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") ||
		path.Clean(name) != name || strings.Contains(name, "..") || strings.ContainsAny(name, "?#%\\ \x00") {
		return fmt.Errorf("%w: TUF target name %q", ErrSetup, name)
	}
	return nil
}

type signable interface {
	Sign(signature.Signer) (*metadata.Signature, error)
	ToBytes(pretty bool) ([]byte, error)
}

func signAndMarshal(m signable, s signature.Signer) ([]byte, error) {
	if _, err := m.Sign(s); err != nil {
		return nil, fmt.Errorf("%w: sign TUF metadata: %w", ErrSetup, err)
	}
	b, err := m.ToBytes(true)
	if err != nil {
		return nil, fmt.Errorf("%w: marshal TUF metadata: %w", ErrSetup, err)
	}
	return b, nil
}

// metaFile describes a metadata file with its version, length and sha256,
// which clients check before they parse it.
func metaFile(version int64, data []byte) (*metadata.MetaFiles, error) {
	tf, err := metadata.TargetFile().FromBytes("", data, "sha256")
	if err != nil {
		return nil, fmt.Errorf("%w: hash TUF metadata: %w", ErrSetup, err)
	}
	mf := metadata.MetaFile(version)
	mf.Length = tf.Length
	mf.Hashes = tf.Hashes
	return mf, nil
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// ServeHTTP serves the repository's files (GET and HEAD); anything else is
// 404, which is how a client learns that no newer root exists.
func (t *tufRepo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	t.mu.Lock()
	t.requests[p]++
	t.mu.Unlock()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, ok := t.files[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// requestCounts returns a copy of the per-path request counts.
func (t *tufRepo) requestCounts() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.requests))
	for k, v := range t.requests {
		out[k] = v
	}
	return out
}

// resetRequests zeroes the request counts.
func (t *tufRepo) resetRequests() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.requests)
}
