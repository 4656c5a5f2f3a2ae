// Package faketuf is a TUF repository for tests: keys, root, targets,
// snapshot and timestamp metadata made with go-tuf v2's metadata package and
// served over HTTP with consistent snapshots, laid out as the Sigstore TUF
// repositories are:
//
//	GET /<N>.root.json                       root version N
//	GET /timestamp.json                      the current timestamp
//	GET /<N>.snapshot.json, /<N>.targets.json
//	GET /targets/<dir>/<sha256 hex>.<base>   a target file
//
// Anything else is 404, which is how a client learns that no newer root
// exists. Every role has one ed25519 key and threshold 1.
//
// Besides publishing honest versions ([Repo.Publish], [Repo.RotateRoot]) a
// test can serve what an attacker would: metadata that expired, a file from
// an older version ([Repo.File], [Repo.SetFile]), metadata signed by a key
// the root does not list ([Publish].UntrustedKey) or a target whose bytes
// are not the ones the metadata names ([Repo.TargetPath]).
//
// Like package registrytest it never imports package testing; the provaudit
// binary never imports it.
package faketuf

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// ErrRepo reports a repository that cannot be built as asked.
var ErrRepo = errors.New("faketuf")

// Options configure a new repository.
type Options struct {
	// Targets are the target files (name -> contents). Names are TUF target
	// paths such as "trusted_root.json" or "127.0.0.1:8080/keys.json".
	Targets map[string][]byte
	// Expires is when every role's metadata expires (default: one year
	// from now).
	Expires time.Time
}

// Publish describes one new version of the repository.
type Publish struct {
	// Targets replace the target files; nil keeps the current ones.
	Targets map[string][]byte
	// TimestampExpires is the new timestamp's expiry (zero: Options.Expires).
	TimestampExpires time.Time
	// UntrustedKey names a role (metadata.TIMESTAMP, SNAPSHOT or TARGETS)
	// whose new metadata is signed by a fresh key the root does not list.
	UntrustedKey string
}

// Repo is a TUF repository served over HTTP. It is safe for concurrent use.
type Repo struct {
	mu      sync.Mutex
	expires time.Time
	keys    map[string]*roleKey // role -> its current key
	root    *metadata.Metadata[metadata.RootType]
	targets map[string][]byte
	files   map[string][]byte // URL path without leading "/" -> body
	version struct{ targets, snapshot, timestamp int64 }
}

type roleKey struct {
	key    *metadata.Key
	signer signature.Signer
}

// New builds version 1 of every role.
func New(opts Options) (*Repo, error) {
	exp := opts.Expires
	if exp.IsZero() {
		exp = time.Now().AddDate(1, 0, 0)
	}
	r := &Repo{expires: exp.UTC().Truncate(time.Second), keys: map[string]*roleKey{}, files: map[string][]byte{}}
	r.root = metadata.Root(r.expires)
	for _, role := range []string{metadata.ROOT, metadata.TIMESTAMP, metadata.SNAPSHOT, metadata.TARGETS} {
		k, err := newKey()
		if err != nil {
			return nil, err
		}
		r.keys[role] = k
		if err := r.root.Signed.AddKey(k.key, role); err != nil {
			return nil, fmt.Errorf("%w: root key for %s: %w", ErrRepo, role, err)
		}
	}
	if err := r.publishRoot(r.keys[metadata.ROOT]); err != nil {
		return nil, err
	}
	if err := r.publish(Publish{Targets: opts.Targets}); err != nil {
		return nil, err
	}
	return r, nil
}

func newKey() (*roleKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: key: %w", ErrRepo, err)
	}
	s, err := signature.LoadED25519Signer(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: signer: %w", ErrRepo, err)
	}
	k, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("%w: key: %w", ErrRepo, err)
	}
	return &roleKey{key: k, signer: s}, nil
}

// Root returns version 1 of the root metadata: the trust anchor a client
// starts from.
func (r *Repo) Root() []byte { return r.File("1.root.json") }

// RootVersion returns the newest root version.
func (r *Repo) RootVersion() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.root.Signed.Version
}

// Publish signs and serves a new version of targets, snapshot and
// timestamp.
func (r *Repo) Publish(p Publish) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.publish(p)
}

// RotateRoot publishes the next root version with new root and timestamp
// keys (the old ones are revoked), signed by both the old and the new root
// key, then a new timestamp signed by the new timestamp key. A client that
// did not follow the rotation cannot verify that timestamp.
func (r *Repo) RotateRoot() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	oldRoot := r.keys[metadata.ROOT]
	for _, role := range []string{metadata.ROOT, metadata.TIMESTAMP} {
		k, err := newKey()
		if err != nil {
			return err
		}
		oldID, err := r.keys[role].key.ID()
		if err != nil {
			return fmt.Errorf("%w: %s key id: %w", ErrRepo, role, err)
		}
		if err := r.root.Signed.RevokeKey(oldID, role); err != nil {
			return fmt.Errorf("%w: revoke %s key: %w", ErrRepo, role, err)
		}
		if err := r.root.Signed.AddKey(k.key, role); err != nil {
			return fmt.Errorf("%w: add %s key: %w", ErrRepo, role, err)
		}
		r.keys[role] = k
	}
	r.root.Signed.Version++
	if err := r.publishRoot(oldRoot, r.keys[metadata.ROOT]); err != nil {
		return err
	}
	return r.publish(Publish{})
}

func (r *Repo) publishRoot(signers ...*roleKey) error {
	r.root.ClearSignatures()
	for _, k := range signers {
		if _, err := r.root.Sign(k.signer); err != nil {
			return fmt.Errorf("%w: sign root: %w", ErrRepo, err)
		}
	}
	b, err := r.root.ToBytes(true)
	if err != nil {
		return fmt.Errorf("%w: root: %w", ErrRepo, err)
	}
	r.files[fmt.Sprintf("%d.root.json", r.root.Signed.Version)] = b
	return nil
}

// signRole signs m with role's key, or with a fresh untrusted key when p
// asks for one, and marshals it.
func (r *Repo) signRole(m signable, role string, p Publish) ([]byte, error) {
	s := r.keys[role].signer
	if p.UntrustedKey == role {
		k, err := newKey()
		if err != nil {
			return nil, err
		}
		s = k.signer
	}
	return sign(m, s)
}

func (r *Repo) publish(p Publish) error {
	if p.Targets != nil {
		r.targets = maps.Clone(p.Targets)
	}
	r.version.targets++
	r.version.snapshot++
	r.version.timestamp++

	tg := metadata.Targets(r.expires)
	tg.Signed.Version = r.version.targets
	for _, name := range slices.Sorted(maps.Keys(r.targets)) {
		if err := checkTargetName(name); err != nil {
			return err
		}
		data := r.targets[name]
		tf, err := metadata.TargetFile().FromBytes(name, data, "sha256")
		if err != nil {
			return fmt.Errorf("%w: target %s: %w", ErrRepo, name, err)
		}
		tg.Signed.Targets[name] = tf
		r.files[targetPath(name, tf.Hashes["sha256"])] = slices.Clone(data)
	}
	targetsJSON, err := r.signRole(tg, metadata.TARGETS, p)
	if err != nil {
		return err
	}

	sn := metadata.Snapshot(r.expires)
	sn.Signed.Version = r.version.snapshot
	if sn.Signed.Meta["targets.json"], err = metaFile(r.version.targets, targetsJSON); err != nil {
		return err
	}
	snapshotJSON, err := r.signRole(sn, metadata.SNAPSHOT, p)
	if err != nil {
		return err
	}

	tsExp := r.expires
	if !p.TimestampExpires.IsZero() {
		tsExp = p.TimestampExpires.UTC().Truncate(time.Second)
	}
	ts := metadata.Timestamp(tsExp)
	ts.Signed.Version = r.version.timestamp
	if ts.Signed.Meta["snapshot.json"], err = metaFile(r.version.snapshot, snapshotJSON); err != nil {
		return err
	}
	timestampJSON, err := r.signRole(ts, metadata.TIMESTAMP, p)
	if err != nil {
		return err
	}

	r.files[fmt.Sprintf("%d.targets.json", r.version.targets)] = targetsJSON
	r.files[fmt.Sprintf("%d.snapshot.json", r.version.snapshot)] = snapshotJSON
	r.files["timestamp.json"] = timestampJSON
	return nil
}

type signable interface {
	Sign(signature.Signer) (*metadata.Signature, error)
	ToBytes(pretty bool) ([]byte, error)
}

func sign(m signable, s signature.Signer) ([]byte, error) {
	if _, err := m.Sign(s); err != nil {
		return nil, fmt.Errorf("%w: sign: %w", ErrRepo, err)
	}
	b, err := m.ToBytes(true)
	if err != nil {
		return nil, fmt.Errorf("%w: marshal: %w", ErrRepo, err)
	}
	return b, nil
}

// metaFile describes a metadata file by version, length and sha256.
func metaFile(version int64, data []byte) (*metadata.MetaFiles, error) {
	tf, err := metadata.TargetFile().FromBytes("", data, "sha256")
	if err != nil {
		return nil, fmt.Errorf("%w: hash metadata: %w", ErrRepo, err)
	}
	mf := metadata.MetaFile(version)
	mf.Length, mf.Hashes = tf.Length, tf.Hashes
	return mf, nil
}

// checkTargetName rejects names that cannot be served as a URL path.
func checkTargetName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") ||
		path.Clean(name) != name || slices.Contains(strings.Split(name, "/"), "..") ||
		strings.ContainsAny(name, "?#%\\ \x00") {
		return fmt.Errorf("%w: target name %q", ErrRepo, name)
	}
	return nil
}

// targetPath is where a consistent-snapshot client asks for a target:
// targets/<dir>/<sha256 hex>.<base>.
func targetPath(name string, sum []byte) string {
	dir, base := path.Split(name)
	return "targets/" + dir + hex.EncodeToString(sum) + "." + base
}

// TargetPath returns the URL path (without leading "/") at which the current
// version of target name is served, or "" when there is no such target.
func (r *Repo) TargetPath(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, ok := r.targets[name]
	if !ok {
		return ""
	}
	tf, err := metadata.TargetFile().FromBytes(name, data, "sha256")
	if err != nil {
		return ""
	}
	return targetPath(name, tf.Hashes["sha256"])
}

// File returns a copy of the file served at p (URL path without leading
// "/"), or nil.
func (r *Repo) File(p string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.files[p])
}

// SetFile serves body at p (URL path without leading "/") instead of what
// the repository made; nil body removes the file (404).
func (r *Repo) SetFile(p string, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if body == nil {
		delete(r.files, p)
		return
	}
	r.files[p] = slices.Clone(body)
}

// ServeHTTP serves the repository's files to GET and HEAD.
func (r *Repo) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.mu.Lock()
	body, ok := r.files[strings.TrimPrefix(req.URL.Path, "/")]
	r.mu.Unlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if req.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}
