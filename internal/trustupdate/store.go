package trustupdate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

const (
	// storeDir is the folder under the cache directory that holds updates.
	storeDir = "trust"
	// storeName is the file that holds the last successful update.
	storeName = "tuf.json"
	// storeFormat names the file's format.
	storeFormat = "provaudit-trust-tuf-v1"
	// maxStore bounds what Load reads: TUF's own limits for every root
	// rotation it follows would allow more, but real stores are a few
	// hundred kilobytes.
	maxStore = 32 << 20
	// maxSkew is how far in the future a recorded fetch time may lie.
	maxSkew = 5 * time.Minute
	// trustedRootTarget is the TUF target of the Sigstore trusted root.
	trustedRootTarget = "trusted_root.json"
)

// stored is the file <cache dir>/trust/tuf.json. Byte fields are base64 in
// JSON, so targets keep their exact bytes.
type stored struct {
	Format     string            `json:"format"`
	Fetched    time.Time         `json:"fetched"`
	Mirror     string            `json:"mirror"`
	Registry   string            `json:"registry"`
	KeysTarget string            `json:"keysTarget,omitempty"`
	Roots      [][]byte          `json:"roots"`
	Timestamp  []byte            `json:"timestamp"`
	Snapshot   []byte            `json:"snapshot"`
	Targets    []byte            `json:"targets"`
	Files      map[string][]byte `json:"files"`
}

// State is trust material from a TUF update, verified from a starting root.
type State struct {
	// Path is the file the update was read from (or written to).
	Path string
	// Fetched is when the update ran.
	Fetched time.Time
	// Mirror is the TUF repository it came from and Registry the registry
	// whose keys target was asked for, as recorded: only labels, the
	// contents are what is verified.
	Mirror, Registry string
	// TrustedRoot is the target trusted_root.json.
	TrustedRoot []byte
	// KeysTarget names the registry's keys target and NpmKeys holds it;
	// both are empty when the repository had no keys for the registry.
	KeysTarget string
	NpmKeys    []byte
	// Versions of the final metadata.
	RootVersion, TimestampVersion, SnapshotVersion, TargetsVersion int64
	// Expires is the earliest expiry among the final root, timestamp,
	// snapshot and targets metadata.
	Expires time.Time

	raw      *stored
	lastRoot []byte // the newest verified root.json (the starting root if none followed)
}

func storePath(cacheDir string) string { return filepath.Join(cacheDir, storeDir, storeName) }

// LoadOptions say where an update is stored and what to verify it from.
type LoadOptions struct {
	// CacheDir is provaudit's cache directory. Required.
	CacheDir string
	// Root is the starting TUF root (nil: [EmbeddedRoot]).
	Root []byte
	// Now is the clock (default time.Now); only a fetch time after it is
	// judged by it.
	Now func() time.Time
}

// Load reads the stored update and verifies it from the starting root,
// offline. It returns an error wrapping [ErrNotStored] when there is none,
// [ErrTUFRoot] for an unusable starting root, and [ErrStore] (naming the
// file and what is wrong) for a stored update that does not verify.
func Load(opts LoadOptions) (*State, error) {
	if opts.CacheDir == "" {
		return nil, fmt.Errorf("%w: no cache directory", ErrNotStored)
	}
	anchor := opts.Root
	if anchor == nil {
		anchor = embeddedRoot
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	p := storePath(opts.CacheDir)
	f, err := os.Open(p)
	if err == nil {
		defer f.Close()
	}
	// A given root is checked even when nothing is stored, so that a bad
	// --tuf-root is reported as such; the embedded one only when needed.
	if opts.Root != nil || err == nil {
		if _, err := checkRoot(anchor); err != nil {
			return nil, err
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNotStored, filepath.Dir(p))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStore+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrStore, p, err)
	}
	st, err := parseStored(data, anchor, now())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrStore, p, err)
	}
	st.Path = p
	return st, nil
}

// parseStored decodes a stored update and verifies it from anchor.
func parseStored(data, anchor []byte, now time.Time) (*State, error) {
	if len(data) > maxStore {
		return nil, fmt.Errorf("larger than %d bytes", maxStore)
	}
	var s stored
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("malformed: %w", err)
	}
	return verifyStored(&s, anchor, now)
}

// verifyStored checks a stored update from anchor, judging expiry at the
// recorded fetch time.
func verifyStored(s *stored, anchor []byte, now time.Time) (*State, error) {
	if s.Format != storeFormat {
		return nil, fmt.Errorf("format %q, want %q", s.Format, storeFormat)
	}
	if s.Fetched.IsZero() {
		return nil, errors.New("no fetch time")
	}
	if s.Fetched.After(now.Add(maxSkew)) {
		return nil, fmt.Errorf("fetch time %s is in the future", s.Fetched.UTC().Format(time.RFC3339))
	}
	tm, err := trustedmetadata.New(anchor)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTUFRoot, err)
	}
	tm.RefTime = s.Fetched
	lastRoot := anchor
	for i, r := range s.Roots {
		v, err := rootVersion(r)
		if err != nil {
			return nil, fmt.Errorf("root %d: %w", i+1, err)
		}
		if v <= tm.Root.Signed.Version {
			continue // the starting root is at least as new
		}
		if _, err := tm.UpdateRoot(r); err != nil {
			return nil, fmt.Errorf("root version %d: %w", v, err)
		}
		lastRoot = r
	}
	if _, err := tm.UpdateTimestamp(s.Timestamp); err != nil {
		return nil, fmt.Errorf("timestamp: %w", err)
	}
	if _, err := tm.UpdateSnapshot(s.Snapshot, false); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	targets, err := tm.UpdateTargets(s.Targets)
	if err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	if _, ok := s.Files[trustedRootTarget]; !ok {
		return nil, fmt.Errorf("no target %s", trustedRootTarget)
	}
	if s.KeysTarget != "" {
		if _, ok := s.Files[s.KeysTarget]; !ok {
			return nil, fmt.Errorf("no target %s", s.KeysTarget)
		}
	}
	for _, name := range sortedKeys(s.Files) {
		if name != trustedRootTarget && name != s.KeysTarget {
			return nil, fmt.Errorf("unexpected target %s", name)
		}
		tf, ok := targets.Signed.Targets[name]
		if !ok {
			return nil, fmt.Errorf("target %s is not in targets metadata version %d", name, targets.Signed.Version)
		}
		if err := tf.VerifyLengthHashes(s.Files[name]); err != nil {
			return nil, fmt.Errorf("target %s does not match targets metadata version %d: %w", name, targets.Signed.Version, err)
		}
	}
	st := &State{
		Fetched:          s.Fetched.UTC(),
		Mirror:           s.Mirror,
		Registry:         s.Registry,
		TrustedRoot:      slices.Clone(s.Files[trustedRootTarget]),
		KeysTarget:       s.KeysTarget,
		RootVersion:      tm.Root.Signed.Version,
		TimestampVersion: tm.Timestamp.Signed.Version,
		SnapshotVersion:  tm.Snapshot.Signed.Version,
		TargetsVersion:   targets.Signed.Version,
		Expires:          earliest(tm.Root.Signed.Expires, tm.Timestamp.Signed.Expires, tm.Snapshot.Signed.Expires, targets.Signed.Expires).UTC(),
		raw:              s,
		lastRoot:         lastRoot,
	}
	if s.KeysTarget != "" {
		st.NpmKeys = slices.Clone(s.Files[s.KeysTarget])
	}
	return st, nil
}

func rootVersion(b []byte) (int64, error) {
	r, err := metadata.Root().FromBytes(b)
	if err != nil {
		return 0, err
	}
	return r.Signed.Version, nil
}

func earliest(ts ...time.Time) time.Time {
	return slices.MinFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writeStored replaces the stored update atomically: a reader sees the old
// file or the new one, never a mix.
func writeStored(cacheDir string, s *stored) (string, error) {
	dir := filepath.Join(cacheDir, storeDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, ".tuf-*.json")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	p := storePath(cacheDir)
	if err := os.Rename(tmp, p); err != nil {
		return "", err
	}
	return p, nil
}
