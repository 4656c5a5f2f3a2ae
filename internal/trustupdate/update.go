package trustupdate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/provaudit/provaudit/verify"
)

// DefaultMirror is the TUF repository an update uses when none is given:
// sigstore-go's default (the public-good repository).
const DefaultMirror = tuf.DefaultMirror

// DefaultTimeout bounds one HTTP request of an update.
const DefaultTimeout = 60 * time.Second

// UpdateOptions configure [Update].
type UpdateOptions struct {
	// CacheDir is provaudit's cache directory. Required.
	CacheDir string
	// Mirror is the TUF repository URL (default [DefaultMirror]).
	Mirror string
	// Root is the starting TUF root (nil: [EmbeddedRoot]).
	Root []byte
	// Registry is the registry whose keys target is fetched. Required.
	Registry string
	// HTTPClient makes the requests (nil: a client with [DefaultTimeout]
	// that honours the proxy environment variables).
	HTTPClient *http.Client
	// UserAgent is sent with every request.
	UserAgent string
	// Now is the clock that dates the update (default time.Now). TUF judges
	// expiry on the real clock.
	Now func() time.Time
}

// UpdateResult is what a successful [Update] stored.
type UpdateResult struct {
	// State is the new material, as [Load] will return it.
	State *State
	// Previous is the update it replaced (nil if none verified).
	Previous *State
	// Ignored says why a stored previous update was not used (nil when
	// there was none or it verified).
	Ignored error
}

// Update fetches the trusted root and the registry's keys through TUF and
// stores them in the cache directory. On any failure it stores nothing and
// returns an error wrapping [ErrUpdate] (or [ErrTUFRoot], [ErrRegistry],
// [ErrMirror] for unusable options) that says what failed.
func Update(ctx context.Context, opts UpdateOptions) (*UpdateResult, error) {
	if opts.CacheDir == "" {
		return nil, fmt.Errorf("%w: no cache directory", ErrUpdate)
	}
	anchor := opts.Root
	if anchor == nil {
		anchor = embeddedRoot
	}
	anchorRoot, err := checkRoot(anchor)
	if err != nil {
		return nil, err
	}
	keysTarget, err := KeysTarget(opts.Registry)
	if err != nil {
		return nil, err
	}
	mirror := opts.Mirror
	if mirror == "" {
		mirror = DefaultMirror
	}
	if u, err := url.Parse(mirror); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an http(s) URL with a host", ErrMirror, mirror)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}

	res := &UpdateResult{}
	prev, err := Load(LoadOptions{CacheDir: opts.CacheDir, Root: anchor, Now: now})
	switch {
	case errors.Is(err, ErrNotStored):
	case err != nil:
		res.Ignored = err
	default:
		res.Previous = prev
	}

	dir := filepath.Join(opts.CacheDir, storeDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUpdate, err)
	}
	work, err := os.MkdirTemp(dir, ".update-*")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUpdate, err)
	}
	defer os.RemoveAll(work)

	// Start from the previous update's newest root, with its metadata as
	// the versions the repository may not roll back.
	start, roots := anchor, map[int64][]byte{}
	if prev != nil {
		start = prev.lastRoot
		for _, r := range prev.raw.Roots {
			if v, err := rootVersion(r); err == nil && v > anchorRoot.Signed.Version {
				roots[v] = r
			}
		}
		if err := seed(metadataDir(work, mirror), prev.raw); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUpdate, err)
		}
	}

	f := &fetcher{ctx: ctx, client: hc, userAgent: opts.UserAgent, roots: roots}
	fetched := now().UTC()
	client, err := tuf.New(&tuf.Options{
		Root:              start,
		CachePath:         work,
		RepositoryBaseURL: mirror,
		Fetcher:           f,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUpdate, mirror, contextCause(ctx, err))
	}
	trustedRoot, err := client.GetTarget(trustedRootTarget)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUpdate, mirror, contextCause(ctx, err))
	}
	md := metadataDir(work, mirror)
	s := &stored{
		Format:   storeFormat,
		Fetched:  fetched,
		Mirror:   mirror,
		Registry: opts.Registry,
		Files:    map[string][]byte{trustedRootTarget: trustedRoot},
	}
	for _, role := range []struct {
		name string
		dst  *[]byte
	}{{metadata.TIMESTAMP, &s.Timestamp}, {metadata.SNAPSHOT, &s.Snapshot}, {metadata.TARGETS, &s.Targets}} {
		b, err := os.ReadFile(filepath.Join(md, role.name+".json"))
		if err != nil {
			return nil, fmt.Errorf("%w: reading the %s metadata the client kept: %w", ErrUpdate, role.name, err)
		}
		*role.dst = b
	}
	hasKeys, err := hasTopLevelTarget(s.Targets, keysTarget)
	if err != nil {
		return nil, fmt.Errorf("%w: targets metadata: %w", ErrUpdate, err)
	}
	if hasKeys {
		keys, err := client.GetTarget(keysTarget)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrUpdate, mirror, contextCause(ctx, err))
		}
		s.KeysTarget, s.Files[keysTarget] = keysTarget, keys
	}
	f.mu.Lock()
	for _, v := range slices.Sorted(maps.Keys(f.roots)) {
		s.Roots = append(s.Roots, f.roots[v])
	}
	f.mu.Unlock()

	// What is stored must be exactly what Load accepts, and usable.
	st, err := verifyStored(s, anchor, fetched)
	if err != nil {
		return nil, fmt.Errorf("%w: the fetched material does not verify from the starting root: %w", ErrUpdate, err)
	}
	if _, err := verify.NewTrust(verify.TrustOptions{TrustedRoot: st.TrustedRoot, NpmKeys: st.NpmKeys}); err != nil {
		return nil, fmt.Errorf("%w: the repository's material is not usable: %w", ErrUpdate, err)
	}
	if st.Path, err = writeStored(opts.CacheDir, s); err != nil {
		return nil, fmt.Errorf("%w: storing it: %w", ErrUpdate, err)
	}
	res.State = st
	return res, nil
}

// metadataDir is where sigstore-go's client keeps a mirror's metadata.
func metadataDir(cachePath, mirror string) string {
	return filepath.Join(cachePath, tuf.URLToPath(mirror))
}

// seed writes a verified previous update's metadata where the TUF client
// looks for its trusted local copies.
func seed(dir string, s *stored) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, b := range map[string][]byte{metadata.TIMESTAMP: s.Timestamp, metadata.SNAPSHOT: s.Snapshot, metadata.TARGETS: s.Targets} {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// hasTopLevelTarget reports whether the targets metadata lists name itself
// (delegated targets are not used).
func hasTopLevelTarget(targetsJSON []byte, name string) (bool, error) {
	t, err := metadata.Targets().FromBytes(targetsJSON)
	if err != nil {
		return false, err
	}
	_, ok := t.Signed.Targets[name]
	return ok, nil
}

// contextCause prefers the context's error when it ended the update.
func contextCause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// rootFile matches the consistent-snapshot name of a root version.
var rootFile = regexp.MustCompile(`^([1-9][0-9]{0,18})\.root\.json$`)

// fetcher is the TUF client's downloader: requests carry the context, and
// every root version downloaded is kept, because a later offline check
// needs the whole chain from the starting root while the client keeps only
// the newest.
type fetcher struct {
	ctx       context.Context
	client    *http.Client
	userAgent string

	mu    sync.Mutex
	roots map[int64][]byte
}

// DownloadFile implements go-tuf's fetcher.Fetcher.
func (f *fetcher) DownloadFile(rawURL string, maxLength int64, _ time.Duration) ([]byte, error) {
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	if f.userAgent != "" {
		req.Header.Set("User-Agent", f.userAgent)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// A 404 for the next root version is how TUF learns there is none.
		return nil, &metadata.ErrDownloadHTTP{StatusCode: resp.StatusCode, URL: rawURL}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxLength+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rawURL, err)
	}
	if int64(len(data)) > maxLength {
		return nil, &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s is larger than the %d bytes expected", rawURL, maxLength)}
	}
	if u, err := url.Parse(rawURL); err == nil {
		if m := rootFile.FindStringSubmatch(path.Base(u.Path)); m != nil {
			if v, err := strconv.ParseInt(m[1], 10, 64); err == nil {
				f.mu.Lock()
				f.roots[v] = data
				f.mu.Unlock()
			}
		}
	}
	return data, nil
}
