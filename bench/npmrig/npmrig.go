package npmrig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Sentinel errors. Every error returned by this package wraps one of them.
var (
	// ErrOptions reports unusable [Options].
	ErrOptions = errors.New("npmrig: invalid options")
	// ErrTrust reports trust material (trusted root, keys) that cannot be
	// served to npm.
	ErrTrust = errors.New("npmrig: invalid trust material")
	// ErrLockfile reports a lockfile that cannot be laid out as an installed
	// tree.
	ErrLockfile = errors.New("npmrig: cannot lay out lockfile")
	// ErrSetup reports a failure to build the TUF repository, the
	// certificates, the proxy or the files of the rig.
	ErrSetup = errors.New("npmrig: setup failed")
	// ErrRun reports that npm could not be started or did not produce an
	// audit summary that can be trusted.
	ErrRun = errors.New("npmrig: npm run failed")
	// ErrClosed reports a call on a closed [Rig].
	ErrClosed = errors.New("npmrig: rig closed")
)

// TUFHost is the Sigstore TUF mirror `npm audit signatures` always uses; the
// rig's proxy answers it, and only it, from the rig's own repository.
const TUFHost = "tuf-repo-cdn.sigstore.dev"

// Options configures [Prepare].
type Options struct {
	// RegistryURL is the fake registry, http://127.0.0.1:PORT/ (or
	// localhost); npm is run with --registry set to it.
	RegistryURL string
	// Lockfile is the package-lock.json (lockfileVersion 2 or 3) or
	// npm-shrinkwrap.json to lay out as an installed tree, without tarballs.
	Lockfile string
	// TrustedRoot is the fake Sigstore's trusted_root.json, served as the
	// TUF target "trusted_root.json".
	TrustedRoot []byte
	// KeysTUF is the registry's keys in the Sigstore TUF keys.json target
	// form, served as the target "<registry host[:port]><path>/keys.json".
	KeysTUF []byte
	// WorkDir is a scratch directory; Prepare makes a directory of its own in
	// it, which Close removes.
	WorkDir string
	// NPM is the npm binary; "" means "npm" on PATH.
	NPM string
	// Timeout bounds one Run; 0 means no bound but the context's.
	Timeout time.Duration
}

// Result is the outcome of one `npm audit signatures` run.
type Result struct {
	// Wall is the elapsed time from starting npm to its exit. User and Sys
	// are the CPU times of npm and the processes it waited for (rusage).
	Wall, User, Sys time.Duration
	// MaxRSSKB is the peak resident set size in KiB (rusage ru_maxrss).
	MaxRSSKB int64
	// ExitCode is npm's exit status; -1 when it was killed by a signal.
	ExitCode int
	// TimedOut reports that Options.Timeout expired and npm's process group
	// was killed.
	TimedOut bool
	// Audited is N of "audited N packages"; VerifiedSignatures and
	// VerifiedAttestations count the packages npm reports with verified
	// registry signatures and attestations; Invalid counts the packages with
	// an invalid registry signature or attestation, Missing those with a
	// missing registry signature. All are counts of install locations.
	Audited, VerifiedSignatures, VerifiedAttestations, Invalid, Missing int
	// Output is what npm wrote to stdout and stderr, interleaved.
	Output []byte
}

// Rig is a prepared installed tree, TUF repository and proxy. Its methods
// are safe for concurrent use; runs are serialized because they share the
// npm cache directory.
type Rig struct {
	opts      Options
	npm       string
	registry  string // normalized registry URL
	keysName  string // TUF target name of the registry keys
	dir       string // the rig's own directory (removed by Close)
	project   string // the installed project
	home      string // private HOME holding .npmrc
	npmrc     string // user npmrc
	globalrc  string // global npmrc
	cacheDir  string // npm --cache
	tmpDir    string // TMPDIR of npm
	caPEM     string // NODE_EXTRA_CA_CERTS
	repo      *tufRepo
	proxy     *proxy
	installed int

	runMu     sync.Mutex
	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

// Prepare builds the TUF repository, starts the proxy and lays out the
// installed tree. It does not run npm. The Rig must be closed.
func Prepare(ctx context.Context, opts Options) (*Rig, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	registry, keysName, err := checkRegistryURL(opts.RegistryURL)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Lockfile == "":
		return nil, fmt.Errorf("%w: Lockfile is empty", ErrOptions)
	case opts.WorkDir == "":
		return nil, fmt.Errorf("%w: WorkDir is empty", ErrOptions)
	case opts.Timeout < 0:
		return nil, fmt.Errorf("%w: Timeout %v is negative", ErrOptions, opts.Timeout)
	}
	if err := checkTrustedRoot(opts.TrustedRoot); err != nil {
		return nil, err
	}
	if err := checkKeysTUF(opts.KeysTUF); err != nil {
		return nil, err
	}
	npm := opts.NPM
	if npm == "" {
		npm = "npm"
	}
	// A bare name is looked up on PATH now, so a missing npm fails here.
	if !strings.ContainsRune(npm, filepath.Separator) {
		p, err := exec.LookPath(npm)
		if err != nil {
			return nil, fmt.Errorf("%w: npm binary %q: %w", ErrOptions, npm, err)
		}
		npm = p
	} else if abs, err := filepath.Abs(npm); err != nil {
		return nil, fmt.Errorf("%w: npm binary %q: %w", ErrOptions, npm, err)
	} else {
		npm = abs
	}
	if fi, err := os.Stat(npm); err != nil {
		return nil, fmt.Errorf("%w: npm binary: %w", ErrOptions, err)
	} else if fi.IsDir() {
		return nil, fmt.Errorf("%w: npm binary %s is a directory", ErrOptions, npm)
	}
	lockData, err := os.ReadFile(opts.Lockfile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLockfile, err)
	}
	tree, err := parseLockfile(opts.Lockfile, lockData)
	if err != nil {
		return nil, err
	}

	repo, err := newTUFRepo(map[string][]byte{
		trustedRootTarget: opts.TrustedRoot,
		keysName:          opts.KeysTUF,
	}, time.Now())
	if err != nil {
		return nil, err
	}

	if err := os.MkdirAll(opts.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	dir, err := os.MkdirTemp(opts.WorkDir, "npmrig-")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	r := &Rig{
		opts:     opts,
		npm:      npm,
		registry: registry,
		keysName: keysName,
		dir:      dir,
		project:  filepath.Join(dir, "project"),
		home:     filepath.Join(dir, "home"),
		cacheDir: filepath.Join(dir, "cache"),
		tmpDir:   filepath.Join(dir, "tmp"),
		repo:     repo,
		closed:   make(chan struct{}),
	}
	r.npmrc = filepath.Join(r.home, ".npmrc")
	r.globalrc = filepath.Join(dir, "global-npmrc")
	r.caPEM = filepath.Join(dir, "ca.pem")
	if err := r.setup(ctx, tree, lockData); err != nil {
		_ = r.Close()
		return nil, err
	}
	return r, nil
}

// setup writes the files of the rig and starts the proxy.
func (r *Rig) setup(ctx context.Context, tree *lockTree, lockData []byte) error {
	for _, d := range []string{r.project, r.home, r.tmpDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("%w: %w", ErrSetup, err)
		}
	}
	// Both npmrc files are empty: every setting the run needs is on its
	// command line or in its environment, and nothing else may apply.
	for _, f := range []string{r.npmrc, r.globalrc} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			return fmt.Errorf("%w: %w", ErrSetup, err)
		}
	}
	ca, err := newCertAuthority(time.Now())
	if err != nil {
		return err
	}
	if err := os.WriteFile(r.caPEM, ca.certPEM, 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	n, err := tree.layout(r.project, lockData)
	if err != nil {
		return err
	}
	r.installed = n
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	p, err := startProxy(TUFHost+":443", ca, r.repo)
	if err != nil {
		return err
	}
	r.proxy = p
	return nil
}

// Installed is the number of package folders laid out from the lockfile
// (entries that are neither the root nor links). npm's "audited" count is at
// most this: it counts the folders reached by a registry dependency edge.
func (r *Rig) Installed() int { return r.installed }

// Dir is the rig's directory inside Options.WorkDir; the installed project
// is its subdirectory "project". Close removes it.
func (r *Rig) Dir() string { return r.dir }

// Close stops the proxy and removes the rig's directory. It waits for a Run
// in progress to end; Close may be called more than once.
func (r *Rig) Close() error {
	r.closeOnce.Do(func() {
		close(r.closed)
		r.runMu.Lock()
		defer r.runMu.Unlock()
		var errs []error
		if r.proxy != nil {
			if err := r.proxy.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := os.RemoveAll(r.dir); err != nil {
			errs = append(errs, fmt.Errorf("%w: remove %s: %w", ErrSetup, r.dir, err))
		}
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// checkRegistryURL checks that the registry is plain HTTP on loopback and
// returns it normalized (with a trailing slash) and the name of the TUF
// target npm looks its keys up under: "<host[:port]><path>/keys.json", with
// the host as WHATWG URL.host writes it (lower case, default port dropped).
func checkRegistryURL(raw string) (registry, keysTarget string, err error) {
	if raw == "" {
		return "", "", fmt.Errorf("%w: RegistryURL is empty", ErrOptions)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("%w: RegistryURL %q: %w", ErrOptions, raw, err)
	}
	if u.Scheme != "http" {
		return "", "", fmt.Errorf("%w: RegistryURL %q: the scheme must be http (a loopback fake registry)", ErrOptions, raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", "", fmt.Errorf("%w: RegistryURL %q: no user, query or fragment allowed", ErrOptions, raw)
	}
	hostname := strings.ToLower(u.Hostname())
	if hostname != "127.0.0.1" && hostname != "localhost" {
		return "", "", fmt.Errorf("%w: RegistryURL %q: the host must be 127.0.0.1 or localhost (everything stays on loopback)", ErrOptions, raw)
	}
	host := hostname
	if port := u.Port(); port != "" && port != "80" {
		host = net.JoinHostPort(hostname, port)
	} else if strings.HasSuffix(u.Host, ":") {
		return "", "", fmt.Errorf("%w: RegistryURL %q: empty port", ErrOptions, raw)
	}
	p := u.EscapedPath()
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	keysTarget = host + p + "keys.json"
	if err := checkTargetName(keysTarget); err != nil {
		return "", "", fmt.Errorf("%w: RegistryURL %q: its path cannot name a TUF target", ErrOptions, raw)
	}
	return "http://" + u.Host + p, keysTarget, nil
}

// checkTrustedRoot checks that b is a Sigstore trusted root npm can load.
func checkTrustedRoot(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: TrustedRoot is empty", ErrTrust)
	}
	var tr struct {
		MediaType string            `json:"mediaType"`
		Tlogs     []json.RawMessage `json:"tlogs"`
		CAs       []json.RawMessage `json:"certificateAuthorities"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		return fmt.Errorf("%w: TrustedRoot: %w", ErrTrust, err)
	}
	if !strings.HasPrefix(tr.MediaType, "application/vnd.dev.sigstore.trustedroot") {
		return fmt.Errorf("%w: TrustedRoot: mediaType %q is not a Sigstore trusted root", ErrTrust, tr.MediaType)
	}
	if len(tr.Tlogs) == 0 || len(tr.CAs) == 0 {
		return fmt.Errorf("%w: TrustedRoot: no transparency logs or certificate authorities", ErrTrust)
	}
	return nil
}

// checkKeysTUF checks that b is a keys.json TUF target npm can use: npm
// reads keys[].keyId, keys[].publicKey.rawBytes and validFor.
func checkKeysTUF(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: KeysTUF is empty", ErrTrust)
	}
	var doc struct {
		Keys []struct {
			KeyID     string `json:"keyId"`
			PublicKey *struct {
				RawBytes string           `json:"rawBytes"`
				ValidFor *json.RawMessage `json:"validFor"`
			} `json:"publicKey"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%w: KeysTUF: %w", ErrTrust, err)
	}
	if len(doc.Keys) == 0 {
		return fmt.Errorf("%w: KeysTUF: no keys", ErrTrust)
	}
	for i, k := range doc.Keys {
		switch {
		case k.KeyID == "":
			return fmt.Errorf("%w: KeysTUF: key %d has no keyId", ErrTrust, i)
		case k.PublicKey == nil || k.PublicKey.RawBytes == "":
			return fmt.Errorf("%w: KeysTUF: key %s has no publicKey.rawBytes", ErrTrust, k.KeyID)
		case k.PublicKey.ValidFor == nil || !bytes.HasPrefix(*k.PublicKey.ValidFor, []byte("{")):
			// npm reads publicKey.validFor.end and fails without validFor.
			return fmt.Errorf("%w: KeysTUF: key %s has no publicKey.validFor object", ErrTrust, k.KeyID)
		}
	}
	return nil
}
