package audit

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/verify"
)

// Options configure one audit.
type Options struct {
	// Lockfile is the parsed lockfile to audit. Required.
	Lockfile *lockfile.Lockfile
	// DisplayPath is the lockfile path as reports show it (defaults to
	// Lockfile.Path).
	DisplayPath string
	// Config says which registry serves which package. Required.
	Config *fetch.Config
	// Client fetches registry data (a *fetch.Client; see [Source]).
	// Required when registry packages are audited.
	Client Source
	// Sealed keeps verdicts and baseline identities between runs; nil
	// takes the cache of Client when it has one (fetch.Client.Cache).
	Sealed SealedStore
	// Trust is the trust material. Required.
	Trust *verify.Trust
	// PinnedKeysOnly uses the trust material's npm keys for every registry
	// and does not ask registries for their keys (--npm-keys FILE).
	PinnedKeysOnly bool
	// Omit skips dev, optional or peer packages as npm --omit does.
	Omit lockfile.Omit
	// RequireProvenance makes a missing attestation a finding.
	RequireProvenance bool
	// RequireSignatures makes a registry without signing keys a finding for
	// versions that have no attestations.
	RequireSignatures bool
	// ReadOnlyCache reads cached verdicts but writes none, so an offline
	// audit leaves the cache exactly as it found it.
	ReadOnlyCache bool
	// Concurrency bounds the packages being fetched at once (default
	// fetch.DefaultConcurrency).
	Concurrency int
	// VerifyWorkers bounds parallel verification (default GOMAXPROCS).
	VerifyWorkers int
	// Progress, when set, receives events. It is called from one goroutine
	// at a time.
	Progress func(Event)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// JudgeAt, when set, is the instant the verifiers take for "now": a
	// registry signature whose publish time is unknown is judged at it, and
	// whether a signing key is valid "now" (so whether the publish time is
	// needed) is decided at it. An audit from an evidence bundle passes the
	// recording time, so that a bundle audited years later gives the
	// verdicts it gave when it was recorded. Zero: Now. The result's timing
	// fields always follow Now.
	JudgeAt time.Time
	// Tool names the program in the result.
	Tool Tool
	// TrustInfo says where Trust came from, for the result.
	TrustInfo TrustInfo
	// NoHistory skips the release-line rules (provenance-regression,
	// identity-drift, install-script-added, publisher-changed), which are
	// on by default: they fetch each audited package's full packument once
	// and, for a version with provenance, the attestations of the newest
	// earlier version of its line that had provenance (see history.go).
	// release-age is governed by MinimumReleaseAge alone.
	NoHistory bool
	// MinimumReleaseAge makes a version published less than this long
	// before now (JudgeAt, when set) a release-age finding; 0 turns the
	// rule off. It needs the version's publish time from the full
	// packument, fetched even with NoHistory. Negative is an error.
	MinimumReleaseAge time.Duration
	// DisabledRules turns off rules that policy decides: their findings
	// are not made, and what only they need is not fetched (identity-drift
	// off: no baseline; every release-line rule off: no packument, unless
	// MinimumReleaseAge needs it). Only rules in PolicyRules may be named
	// (Run refuses others with ErrOptions): findings of tampering,
	// untrusted keys or missing signatures cannot be turned off.
	DisabledRules []Rule
	// DiffBase, when set, makes the audit a diff (--baseline): only units
	// new or changed against it are audited, each marked with its
	// [Package].Change; units it has unchanged are skipped, "unchanged
	// since the baseline". DiffLabel names it in reasons and the result.
	DiffBase  *lockfile.Lockfile
	DiffLabel string
	// VerdictStore, when set, is asked once for every package to audit
	// before anything is fetched: a package it holds a verdict for is
	// neither fetched nor verified again. Verdicts that pass are saved to
	// it (see [VerdictStore]).
	VerdictStore VerdictStore
}

// ErrOptions reports a programming error in the Options given to Run.
var ErrOptions = errors.New("audit: invalid options")

// Run audits every package of the lockfile and returns the result. Failures
// of single packages (network, malformed data, invalid signatures) go into
// their results and never stop the others; Run itself fails only on invalid
// options. When ctx is cancelled the packages not yet checked end with
// status error and Run returns the partial result together with
// context.Cause(ctx) (ctx.Err() when the cancellation gave no cause).
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Lockfile == nil || opts.Trust == nil {
		return nil, fmt.Errorf("%w: Lockfile and Trust are required", ErrOptions)
	}
	if err := checkPolicyOptions(opts); err != nil {
		return nil, err
	}
	a := newAuditor(opts)
	start := a.now()

	units := lockfile.Units(opts.Lockfile)
	res := &Result{
		SchemaVersion: SchemaVersion,
		Tool:          opts.Tool,
		Trust:         opts.TrustInfo,
		Lockfile: LockfileInfo{
			Path:            firstNonEmpty(opts.DisplayPath, opts.Lockfile.Path),
			Format:          opts.Lockfile.Format,
			LockfileVersion: opts.Lockfile.LockfileVersion,
		},
		Packages: make([]Package, len(units)),
	}
	if opts.Config != nil {
		res.Lockfile.Registry = opts.Config.DefaultRegistry()
	}

	var changes map[string]lockfile.Change
	if opts.DiffBase != nil {
		changes = lockfile.Compare(opts.DiffBase, opts.Lockfile)
		res.Diff = &DiffInfo{Baseline: opts.DiffLabel}
	}
	var todo []int
	for i := range units {
		u := &units[i]
		res.Packages[i] = basePackage(u)
		if changes != nil {
			res.Packages[i].Change = res.Diff.count(changes[u.Key()])
		}
		if u.Kind == lockfile.KindInvalid {
			res.Packages[i].Status = StatusError
			res.Packages[i].Reason = fmt.Sprintf("%s:%d: %s; not audited", res.Lockfile.Path, u.Line, u.Reason)
			continue
		}
		if reason, skip := a.skipReason(u); skip {
			res.Packages[i].Status = StatusSkipped
			res.Packages[i].Reason = reason
			continue
		}
		if res.Packages[i].Change == lockfile.ChangeUnchanged {
			res.Packages[i].Status = StatusSkipped
			res.Packages[i].Reason = "unchanged since the baseline (" + opts.DiffLabel + ")"
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) > 0 && (opts.Config == nil || opts.Client == nil) {
		return nil, fmt.Errorf("%w: Config and Client are required when registry packages are audited", ErrOptions)
	}

	a.cache = sealedStoreOf(opts)
	a.prepareRegistries(ctx, units, todo)
	a.pipeline(ctx, units, todo, res.Packages)

	res.Registries = a.registries(units, todo, res.Packages)
	res.Problems = a.problemList()
	res.Summary = summarize(res.Packages)
	res.Summary.StartedAt = start.UTC()
	res.Summary.DurationMS = a.now().Sub(start).Milliseconds()
	return res, context.Cause(ctx)
}

type auditor struct {
	opts  Options
	now   func() time.Time
	judge func() time.Time // the verifiers' "now" (Options.JudgeAt)
	pol   policy
	plan  historyPlan
	regs  map[string]*registryTrust
	cache SealedStore
	// versions lists the audited versions of each name: one download of a
	// full packument answers for all of them (fetch.Client.PublishInfo).
	versions map[string][]string
	trustD   string

	problemsMu sync.Mutex
	problems   map[string]int // Result.Problems: message -> packages

	progressMu sync.Mutex
	fetched    int
	verified   int
	total      int
}

// registryTrust is what one registry's keys allow: a verifier, or the reason
// none could be built.
type registryTrust struct {
	url      string
	origin   fetch.RegistryOrigin
	verifier *verify.Verifier
	// keys is what the key endpoint said; keysReason why it is unknown.
	keys       string
	keysReason string
	// keysDigest identifies the key list the verifier was built from.
	keysDigest string
	err        error
}

// trustHint says how to trust, on purpose, a key the registry's signatures
// or attestations are signed with but that nothing trusts.
func (rt *registryTrust) trustHint() string {
	if !rt.origin.ByUser {
		return fmt.Sprintf(" (%s was named only by the audited project, in %s, so the keys its key endpoint lists are not trusted; to trust them on purpose, name it yourself with --registry %s, npm_config_registry or registry= in your user npmrc, or pin its keys with --npm-keys FILE)",
			rt.url, rt.origin.Source, rt.url)
	}
	switch rt.keys {
	case keysListed:
		return fmt.Sprintf(" (no pinned key and no key that %s lists carries that keyid: if the registry rotated its keys, refresh provaudit's trust material or pin the new keys with --npm-keys FILE)", rt.url)
	case keysPinned:
		return " (the keys pinned with --npm-keys do not carry that keyid)"
	}
	return fmt.Sprintf(" (no pinned key carries that keyid and %s lists no keys%s: pin the registry's keys with --npm-keys FILE to check them)", rt.url, parenthesize(rt.keysReason))
}

func parenthesize(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// What a registry's key endpoint said ([Registry].Keys).
const (
	keysListed  = "listed"
	keysNone    = "none"
	keysUnknown = "unknown"
	keysPinned  = "pinned"
)

func newAuditor(opts Options) *auditor {
	if opts.Concurrency <= 0 {
		opts.Concurrency = fetch.DefaultConcurrency
	}
	if opts.VerifyWorkers <= 0 {
		opts.VerifyWorkers = runtime.GOMAXPROCS(0)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	judge := now
	if at := opts.JudgeAt; !at.IsZero() {
		judge = func() time.Time { return at }
	}
	return &auditor{
		opts:     opts,
		now:      now,
		judge:    judge,
		pol:      policy{RequireProvenance: opts.RequireProvenance, RequireSignatures: opts.RequireSignatures},
		plan:     newHistoryPlan(opts),
		regs:     map[string]*registryTrust{},
		problems: map[string]int{},
		trustD:   opts.Trust.Digest(),
	}
}

func basePackage(u *lockfile.Unit) Package {
	p := Package{
		Name:      u.Name,
		Version:   u.Version,
		Integrity: u.Integrity,
		Paths:     append([]string{}, u.Paths...),
		Line:      u.Line,
		Kind:      u.Kind,
		Findings:  []Finding{},
	}
	p.Dev, p.Optional, p.Peer = true, true, true
	for _, e := range u.Entries {
		p.Dev = p.Dev && (e.Dev || e.DevOptional)
		p.Optional = p.Optional && (e.Optional || e.DevOptional)
		p.Peer = p.Peer && e.Peer
	}
	if len(u.Entries) == 0 {
		p.Dev, p.Optional, p.Peer = false, false, false
	}
	return p
}

// skipReason says why a unit is not audited, if it is not.
func (a *auditor) skipReason(u *lockfile.Unit) (string, bool) {
	if u.Kind != lockfile.KindRegistry {
		return firstNonEmpty(u.Reason, fmt.Sprintf("not from a registry (%s)", u.Kind)), true
	}
	if u.Omitted(a.opts.Omit) {
		return "omitted by --omit", true
	}
	if u.Bundled() {
		return fmt.Sprintf("bundled in the tarball of %s: installed from it, covered by its integrity", u.Entries[0].BundledBy), true
	}
	return "", false
}

// prepareRegistries fetches the signing keys of every registry the audited
// packages come from and builds one verifier per registry.
func (a *auditor) prepareRegistries(ctx context.Context, units []lockfile.Unit, todo []int) {
	seen := map[string]bool{}
	var urls []string
	for _, i := range todo {
		r := a.opts.Config.RegistryFor(units[i].Name)
		if !seen[r] {
			seen[r] = true
			urls = append(urls, r)
		}
	}
	sort.Strings(urls)
	a.emit(Event{Phase: PhaseKeys, Total: len(urls)})

	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	for _, u := range urls {
		g.Go(func() error {
			rt := a.buildRegistryTrust(gctx, u)
			mu.Lock()
			a.regs[u] = rt
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait() // per-registry failures are stored in registryTrust.err
}

// buildRegistryTrust learns what registry's keys are worth and builds its
// verifier. The pinned keys are always in it. The keys the registry's
// endpoint lists are added, trusted only when the person running provaudit
// named the registry. An endpoint answering 404, 400 or an empty list
// means a registry without keys; one that cannot be read (offline without
// an authenticated cached copy, a network or format failure) leaves its
// keys unknown; neither switches checking off. A registry that lists a
// pinned keyid with other key material is lying: its packages are not
// checked.
func (a *auditor) buildRegistryTrust(ctx context.Context, registry string) *registryTrust {
	rt := &registryTrust{url: registry, origin: a.opts.Config.RegistryOrigin(registry)}
	pinned := a.opts.Trust.PinnedKeys()
	var (
		listed []verify.Key
		state  verify.RegistryKeys
		body   []byte
	)
	switch {
	case a.opts.PinnedKeysOnly:
		state, rt.keys = verify.KeysListed, keysPinned
	default:
		var err error
		body, err = a.opts.Client.RegistryKeys(ctx, registry)
		switch {
		case errors.Is(err, fetch.ErrNoKeys):
			state, rt.keys = verify.KeysNone, keysNone
		case err != nil:
			state, rt.keys, rt.keysReason = verify.KeysUnknown, keysUnknown, err.Error()
			if cause, ok := fetch.Cause(err); ok {
				rt.keysReason = clipReason(cause)
			}
			body = nil
		default:
			listed, err = verify.ParseNpmKeys(body)
			switch {
			case errors.Is(err, verify.ErrNoKeys):
				state, rt.keys, listed = verify.KeysNone, keysNone, nil
			case err != nil:
				state, rt.keys, rt.keysReason = verify.KeysUnknown, keysUnknown, fmt.Sprintf("the key list of %s is unusable: %v", registry, err)
				listed, body = nil, nil
			default:
				state, rt.keys = verify.KeysListed, keysListed
			}
		}
	}
	kr, err := verify.NewKeyring(pinned, listed, verify.KeyringOptions{Registry: state, TrustRegistry: rt.origin.ByUser})
	if err != nil {
		rt.err = fmt.Errorf("signing keys of %s: %w", registry, err)
		return rt
	}
	v, err := verify.NewVerifier(a.opts.Trust, kr, verify.WithNow(a.judge))
	if err != nil {
		rt.err = fmt.Errorf("building the verifier for %s: %w", registry, err)
		return rt
	}
	rt.verifier = v
	rt.keysDigest = kr.Digest()
	return rt
}

// work carries one package from the fetch stage to the verify stage.
type work struct {
	idx      int
	unit     *lockfile.Unit
	reg      *registryTrust
	manifest *fetch.Manifest
	attBody  []byte
	publish  *fetch.PublishInfo
	// needTime: the registry signature is judged at the publish time,
	// which only the full packument has.
	needTime bool
	// tarball holds the digests of the registry's tarball when the lockfile
	// and the registry share no hash algorithm; tarballErr why they could
	// not be had (the signature then stays unbound: an error, not a pass).
	tarball    string
	tarballErr error
	err        error
	// stored is the verdict the verdict store holds for the package: it
	// is then neither fetched nor verified.
	stored *verdict
	// held holds attBody's share of the fetch client's memory budget
	// until the package is verified (nil when there is no body).
	held *fetch.Body
	// history is the package's release history and base the baseline of
	// its identity (see history.go); histErr why they could not be had.
	history *fetch.History
	base    *baseline
	histErr error
}

// pipeline fetches packages concurrently (bounded by Concurrency) and
// verifies them as they arrive on VerifyWorkers goroutines, so verification
// overlaps the network. The queue holds every package, so a fetch slot is
// freed as soon as its package is fetched: when verification is the
// bottleneck the network keeps going instead of waiting for the CPU.
func (a *auditor) pipeline(ctx context.Context, units []lockfile.Unit, todo []int, out []Package) {
	a.total = len(todo)
	a.versions = make(map[string][]string)
	for _, i := range todo {
		u := &units[i]
		if !slices.Contains(a.versions[u.Name], u.Version) {
			a.versions[u.Name] = append(a.versions[u.Name], u.Version)
		}
	}
	queue := make(chan *work, len(todo))

	var wg sync.WaitGroup
	for range a.opts.VerifyWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range queue {
				if w.err == nil && ctx.Err() != nil {
					// Cancelled: stop verifying, every package left
					// ends as error at once.
					w.err = fmt.Errorf("audit interrupted: %w", context.Cause(ctx))
				}
				a.finish(w, &out[w.idx])
				w.held.Release()
				if w.base != nil {
					w.base.held.Release()
				}
				// ws below keeps every work item until the end: drop
				// what verification needed so the body can be freed.
				w.attBody, w.held, w.manifest, w.publish, w.history, w.base = nil, nil, nil, nil, nil, nil
			}
		}()
	}

	ws := make([]*work, len(todo))
	for j, i := range todo {
		ws[j] = &work{idx: i, unit: &units[i], reg: a.regs[a.opts.Config.RegistryFor(units[i].Name)]}
	}
	a.lookupStore(ctx, ws)

	g := new(errgroup.Group)
	g.SetLimit(a.opts.Concurrency)
	for _, w := range ws {
		if w.stored != nil && !a.needsFetch(w) {
			a.emitFetched(w)
			queue <- w
			continue
		}
		if ctx.Err() != nil {
			w.err = fmt.Errorf("audit interrupted: %w", context.Cause(ctx))
			queue <- w
			continue
		}
		g.Go(func() error {
			if w.stored != nil {
				// Verified by the store: only what its record lacks of
				// the history is fetched.
				if w.history == nil {
					a.fetchHistory(ctx, w)
				}
				if w.stored.Att != nil && w.stored.Att.Provenance != nil {
					a.fetchBaseline(ctx, w)
				}
			} else {
				a.fetch(ctx, w)
			}
			a.emitFetched(w)
			queue <- w
			return nil
		})
	}
	_ = g.Wait() // failures live in each work item
	close(queue)
	wg.Wait()
}

// fetch gets everything verification of one package needs. A release
// history, when the audit wants one, is fetched at the same time as the
// version document and attestations (its packument, then the baseline's
// attestations), so that it adds requests but no round trips.
func (a *auditor) fetch(ctx context.Context, w *work) {
	u := w.unit
	if w.reg == nil || w.reg.err != nil {
		if w.reg == nil {
			w.err = errors.New("internal error: no registry trust")
		} else {
			w.err = w.reg.err
		}
		return
	}
	if !a.plan.wanted() {
		if a.fetchVersion(ctx, w) && w.needTime {
			pi, err := a.opts.Client.PublishInfo(ctx, u.Name, u.Version, a.versions[u.Name]...)
			if err != nil {
				w.err = fmt.Errorf("publish time of %s@%s (needed to judge its signing key): %w", u.Name, u.Version, err)
				return
			}
			w.publish = pi
		}
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.fetchHistory(ctx, w)
		if w.history != nil && w.history.Version.Provenance != "" {
			a.fetchBaseline(ctx, w)
		}
	}()
	ok := a.fetchVersion(ctx, w)
	<-done
	if !ok {
		return
	}
	if m := w.manifest; m.Attestations != nil && m.Attestations.PredicateType != "" {
		// The version document announces provenance the packument did
		// not: the baseline is needed all the same.
		a.fetchBaseline(ctx, w)
	}
	if w.needTime {
		if w.history == nil {
			w.err = fmt.Errorf("publish time of %s@%s (needed to judge its signing key): %w", u.Name, u.Version, w.histErr)
			return
		}
		h := &w.history.Version
		w.publish = &fetch.PublishInfo{Time: h.Time, NpmUser: h.Publisher, TrustedPublisher: h.TrustedPublisher}
	}
}

// fetchVersion gets the version document, the tarball's digests when
// binding needs them and the attestations, and says whether the signature
// needs the publish time (w.needTime). false: it failed (w.err).
func (a *auditor) fetchVersion(ctx context.Context, w *work) bool {
	u := w.unit
	m, err := a.opts.Client.Manifest(ctx, u.Name, u.Version, u.Integrity)
	if err != nil {
		w.err = err
		return false
	}
	w.manifest = m
	if u.Integrity != "" && verify.NeedsTarball(u.Integrity, m.Integrity, m.Shasum) {
		w.tarball, w.tarballErr = a.opts.Client.TarballDigests(ctx, m)
	}
	if m.Attestations != nil {
		// The body holds its share of the memory budget until verified:
		// bodies waiting for a verifier must not pile up unbounded.
		body, err := a.opts.Client.AttestationsBody(ctx, m)
		if err != nil {
			w.err = fmt.Errorf("the registry lists attestations for %s@%s but they could not be fetched: %w", u.Name, u.Version, err)
			return false
		}
		w.attBody, w.held = body.Data, body
	}
	// The key of a signature is judged at publish time. The publish
	// attestation's Rekor time serves when there is one; otherwise the full
	// packument's time map is needed, but only when no signing key is valid
	// today.
	w.needTime = m.Attestations == nil && len(m.Signatures) > 0 && w.reg.verifier.NeedsPublishTime(sigs(m))
	return true
}

func sigs(m *fetch.Manifest) []verify.Signature {
	out := make([]verify.Signature, len(m.Signatures))
	for i, s := range m.Signatures {
		out[i] = verify.Signature{KeyID: s.KeyID, Sig: s.Sig}
	}
	return out
}

// finish verifies one fetched package and writes its final result.
func (a *auditor) finish(w *work, p *Package) {
	defer a.emitVerified(p)
	if w.err != nil {
		p.Status = StatusError
		p.Reason = clipReason(w.err.Error())
		if cause, ok := fetch.Cause(w.err); ok {
			// A failure of the whole registry: one message for all of its
			// packages, counted once in Result.Problems. (Clipped: a TLS
			// error quotes the names of the server's certificate.)
			cause = clipReason(cause)
			p.Reason = cause
			a.problemsMu.Lock()
			a.problems[cause]++
			a.problemsMu.Unlock()
		}
		return
	}
	var v verdict
	if w.stored != nil {
		v = *w.stored
	} else {
		v = a.verdict(w)
		// After judgeHistory (deferred below): the record carries the
		// history and the baseline identity it verified.
		defer a.saveToStore(w, v)
	}
	p.RegistrySignature, p.Attestations = v.Sig, v.Att
	p.Status, p.Reason, p.Findings = classify(v, a.pol, w.reg.trustHint())
	p.Findings = slices.DeleteFunc(p.Findings, func(f Finding) bool { return a.plan.disabled[f.Rule] })
	defer a.judgeHistory(w, v, p)
	switch {
	case v.Unbound && w.tarballErr != nil:
		p.Reason += " (" + w.tarballErr.Error() + ")"
	case v.ViaTarball:
		p.Reason += " (the lockfile and the registry share no hash algorithm: bound through the digests of the registry's tarball)"
	case v.WeakIntegrity:
		p.Reason += " (the lockfile pins only a sha1 digest: bound through the registry's dist.shasum)"
	}
	if w.unit.Integrity == "" {
		// A registry unit's Reason says why its lockfile format pins no
		// integrity (yarn berry), when it is the format's doing.
		p.Unpinned = true
		p.Reason += " (" + firstNonEmpty(w.unit.Reason, "the lockfile pins no integrity") + ": checked against the integrity the registry serves, " + w.manifest.Integrity + ")"
		if f, ok := unboundInstall(w); ok {
			p.Findings = append(p.Findings, f)
		}
	}
}

// judgeHistory adds the Publication and the history findings to a package
// that verification let pass (verified, signed or unsigned: an invalid or
// undetermined one has graver problems). A history that could not be
// judged leaves the package as error: it was not checked completely.
func (a *auditor) judgeHistory(w *work, v verdict, p *Package) {
	if !a.plan.wanted() || p.Status != StatusVerified && p.Status != StatusSigned && p.Status != StatusUnsigned {
		return
	}
	pub, findings, err := a.publication(w, v)
	if err != nil {
		p.Status = StatusError
		p.Reason = clipReason(fmt.Sprintf("%s, but %v (the history rules need it; --no-history skips them)", p.Reason, err))
		return
	}
	p.Publication = pub
	p.Findings = append(p.Findings, findings...)
}

// unboundInstall is the finding for an entry whose lockfile pins no
// integrity and whose resolved tarball lives outside the registry that
// signed the integrity: npm installs it from there unchecked, so what will
// be installed is bound to nothing that was verified. An entry resolved
// from the registry itself (or with no resolved, which npm fetches from
// the registry) binds to the registry's signed integrity.
func unboundInstall(w *work) (Finding, bool) {
	res := w.unit.Resolved
	if res == "" || sameRegistry(w.reg.url, res) {
		return Finding{}, false
	}
	return Finding{Rule: RuleIntegrityUnbound, Severity: SeverityHigh,
		Message: fmt.Sprintf("the lockfile pins no integrity and installs %s@%s from %s, outside %s, whose signed integrity was checked: what will be installed is bound to nothing that was verified (pin the integrity: npm install --package-lock-only)",
			w.unit.Name, w.unit.Version, res, w.reg.url)}, true
}

// sameRegistry reports whether a resolved URL lies under registry: the
// same scheme, host and port, and a path under the registry's path.
func sameRegistry(registry, resolved string) bool {
	r, err1 := url.Parse(registry)
	u, err2 := url.Parse(resolved)
	if err1 != nil || err2 != nil {
		return false
	}
	return strings.EqualFold(r.Scheme, u.Scheme) && strings.EqualFold(r.Hostname(), u.Hostname()) &&
		effectivePort(r) == effectivePort(u) && strings.HasPrefix(u.EscapedPath(), r.EscapedPath())
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// boundIntegrity is the integrity a package's signature and attestations
// must be bound to: the lockfile's, or, for entries whose lockfile records
// none (npm then installs whatever the registry serves for name@version),
// the registry's, which the result marks as unpinned.
func boundIntegrity(w *work) string {
	if w.unit.Integrity != "" {
		return w.unit.Integrity
	}
	return w.manifest.Integrity
}

// verdict verifies a package, or reuses a cached verdict for exactly the
// same bytes and trust material. Only clean verdicts (nothing invalid or
// undetermined) are cached, so failures are always recomputed and shown
// with their full reason; and only verdicts that verified attestations, the
// expensive part (milliseconds of certificate chains and logs): a registry
// signature alone costs less to check again than a cache file costs to
// write.
//
// Verdicts are stored sealed (fetch.Cache.PutSealed): a verdict in a cache
// directory restored from elsewhere, or edited by hand, fails its MAC and is
// derived again, so a poisoned cache cannot make a package pass.
func (a *auditor) verdict(w *work) verdict {
	key := a.verdictKey(w)
	if a.cache != nil {
		if b, ok := a.cache.GetSealed(key); ok {
			var v verdict
			if json.Unmarshal(b, &v) == nil && v.Sig != nil && v.Att != nil && cacheable(v) {
				return v
			}
		}
	}
	v := a.verify(w)
	if a.cache != nil && !a.opts.ReadOnlyCache && cacheable(v) {
		if b, err := json.Marshal(v); err == nil {
			_ = a.cache.PutSealed(key, b) // a failed cache write only costs time
		}
	}
	return v
}

func cacheable(v verdict) bool {
	return !v.SigUndetermined && !v.IntegrityMismatch &&
		(v.Sig.Status == CheckVerified || v.Sig.Status == CheckUnsupported) && v.Att.Status == CheckVerified
}

// verdictFormat names the format and the rules of stored verdicts; it
// changes whenever what a verdict means does.
const verdictFormat = "verdict/v2"

// verdictKey names a verdict by every input it depends on: the verdict
// format, the tool's version, the trust material, the registry's key list
// and its trust, the lockfile integrity and the bytes the registry served.
func (a *auditor) verdictKey(w *work) string {
	h := sha256.New()
	m := w.manifest
	write := func(s string) { fmt.Fprintf(h, "%d:%s\n", len(s), s) }
	write(verdictFormat)
	write(a.opts.Tool.Name + " " + a.opts.Tool.Version)
	write(a.trustD)
	write(w.reg.keysDigest)
	write(w.unit.Name)
	write(w.unit.Version)
	write(w.unit.Integrity)
	write(m.Integrity)
	write(m.Shasum)
	for _, s := range m.Signatures {
		write(s.KeyID)
		write(s.Sig)
	}
	if m.Attestations != nil {
		write(m.Attestations.PredicateType)
	}
	write(w.tarball)
	sum := sha256.Sum256(w.attBody)
	write(hex.EncodeToString(sum[:]))
	if w.publish != nil {
		write(w.publish.Time.UTC().Format(time.RFC3339Nano))
	}
	return "verdict/" + hex.EncodeToString(h.Sum(nil))
}

// verify runs the cryptographic checks of one package.
func (a *auditor) verify(w *work) verdict {
	u, m, vf := w.unit, w.manifest, w.reg.verifier
	var v verdict

	var ar verify.AttestationResult
	if m.Attestations != nil {
		ar = vf.Attestations(verify.AttestationInput{
			Name: u.Name, Version: u.Version,
			Integrity:         boundIntegrity(w),
			ServedIntegrity:   m.Integrity,
			ServedShasum:      m.Shasum,
			TarballIntegrity:  w.tarball,
			ExpectedPredicate: m.Attestations.PredicateType,
			Body:              w.attBody,
		})
		v.Att = attestationCheck(ar)
		if errors.Is(ar.Err, verify.ErrIntegrityMismatch) {
			v.IntegrityMismatch = true
		}
	} else {
		v.Att = &AttestationCheck{Status: CheckMissing, Reason: "the version has no attestations"}
	}

	in := verify.SignatureInput{
		Name: u.Name, Version: u.Version,
		Integrity:        boundIntegrity(w),
		ServedIntegrity:  m.Integrity,
		ServedShasum:     m.Shasum,
		TarballIntegrity: w.tarball,
		Signatures:       sigs(m),
	}
	switch {
	case ar.Publish != nil && !ar.Publish.IntegratedTime.IsZero():
		in.PublishTime, in.TimeSource = ar.Publish.IntegratedTime, verify.TimeSourceRekor
	case w.publish != nil && !w.publish.Time.IsZero():
		in.PublishTime, in.TimeSource = w.publish.Time, verify.TimeSourcePublish
	}
	sr := vf.RegistrySignature(in)
	v.Sig = signatureCheck(sr)
	v.WeakIntegrity, v.ViaTarball = sr.WeakIntegrity, sr.ViaTarball
	if errors.Is(sr.Err, verify.ErrIntegrityUnbound) {
		v.Unbound = true
	}
	if errors.Is(sr.Err, verify.ErrPublishTimeUnknown) {
		v.SigUndetermined = true
	}
	if errors.Is(sr.Err, verify.ErrKeysUnknown) {
		v.KeysUnknown = true
	}
	if errors.Is(sr.Err, verify.ErrIntegrityMismatch) {
		v.IntegrityMismatch = true
	}
	return v
}

func signatureCheck(r verify.SignatureResult) *SignatureCheck {
	c := &SignatureCheck{Status: CheckStatus(r.Status), KeyID: r.KeyID, TimeSource: TimeSource(r.TimeSource)}
	if r.Err != nil {
		c.Reason = clipReason(r.Err.Error())
	} else {
		c.Reason = "signature by " + r.KeyID + " verified"
	}
	if r.KeyID != "" {
		pinned := r.Pinned
		c.Pinned = &pinned
	}
	if !r.JudgedAt.IsZero() {
		t := r.JudgedAt.UTC()
		c.JudgedAt = &t
	}
	return c
}

func attestationCheck(r verify.AttestationResult) *AttestationCheck {
	c := &AttestationCheck{Status: CheckStatus(r.Status), PredicateTypes: r.PredicateTypes}
	switch {
	case r.Err != nil:
		c.Reason = clipReason(r.Err.Error())
	case r.Provenance != nil:
		c.Reason = "publish attestation and provenance verified"
	default:
		c.Reason = "publish attestation verified; no provenance"
	}
	if p := r.Publish; p != nil {
		c.Publish = &Publish{KeyID: p.KeyID, Pinned: p.Pinned, RekorLogIndex: p.LogIndex, IntegratedTime: p.IntegratedTime.UTC()}
	}
	if p := r.Provenance; p != nil {
		c.Provenance = &Provenance{
			PredicateType:     p.PredicateType,
			SourceRepository:  p.SourceRepository,
			Commit:            p.Commit,
			WorkflowPath:      p.WorkflowPath,
			WorkflowRef:       p.WorkflowRef,
			BuilderID:         p.BuilderID,
			BuildType:         p.BuildType,
			Issuer:            p.Issuer,
			RunnerEnvironment: p.RunnerEnvironment,
			RunURL:            p.RunURL,
			RekorLogIndex:     p.LogIndex,
			IntegratedTime:    p.IntegratedTime.UTC(),
			RepositoryID:      p.RepositoryID,
			OwnerID:           p.OwnerID,
			Owner:             p.Owner,
			BuildTrigger:      p.BuildTrigger,
			BuildSignerURI:    p.BuildSignerURI,
		}
	}
	return c
}

func (a *auditor) emit(e Event) {
	if a.opts.Progress == nil {
		return
	}
	a.progressMu.Lock()
	defer a.progressMu.Unlock()
	a.opts.Progress(e)
}

func (a *auditor) emitFetched(w *work) {
	if a.opts.Progress == nil {
		return
	}
	a.progressMu.Lock()
	defer a.progressMu.Unlock()
	a.fetched++
	a.opts.Progress(Event{Phase: PhaseFetch, Done: a.fetched, Total: a.total, Package: w.unit.Name + "@" + w.unit.Version})
}

func (a *auditor) emitVerified(p *Package) {
	if a.opts.Progress == nil {
		return
	}
	a.progressMu.Lock()
	defer a.progressMu.Unlock()
	a.verified++
	a.opts.Progress(Event{Phase: PhaseVerify, Done: a.verified, Total: a.total, Package: p.Name + "@" + p.Version})
}

// summarize counts packages by status.
func summarize(pkgs []Package) Summary {
	var s Summary
	s.Packages = len(pkgs)
	for i := range pkgs {
		p := &pkgs[i]
		switch p.Status {
		case StatusVerified:
			s.Verified++
		case StatusSigned:
			s.Signed++
		case StatusUnsigned:
			s.Unsigned++
		case StatusInvalid:
			s.Invalid++
		case StatusSkipped:
			s.Skipped++
		case StatusError:
			s.Error++
		}
		sig := p.RegistrySignature != nil && p.RegistrySignature.Status == CheckVerified
		att := p.Attestations != nil && p.Attestations.Status == CheckVerified
		if sig {
			s.SignaturesVerified++
		}
		if att {
			s.AttestationsVerified++
		}
		if sig || att {
			s.Checked++
		}
		s.Findings += len(p.Findings)
		for _, e := range p.Exceptions {
			s.Waived += len(e.Waived)
		}
		if p.SourceCheck != nil && p.SourceCheck.Status == SourceIncomplete {
			s.SourceUnchecked++
		}
	}
	s.Audited = s.Packages - s.Skipped
	return s
}

// problemList is Result.Problems: the registry-wide failures, most
// packages first, then by message.
func (a *auditor) problemList() []Problem {
	out := make([]Problem, 0, len(a.problems))
	for msg, n := range a.problems {
		out = append(out, Problem{Message: msg, Packages: n})
	}
	slices.SortFunc(out, func(x, y Problem) int {
		if c := cmp.Compare(y.Packages, x.Packages); c != 0 {
			return c
		}
		return strings.Compare(x.Message, y.Message)
	})
	return out
}

// registries describes every registry the audited packages came from: the
// default registry first (even when no package came from it), then the
// others by URL, with the counts of their packages.
func (a *auditor) registries(units []lockfile.Unit, todo []int, pkgs []Package) []Registry {
	if a.opts.Config == nil {
		return []Registry{}
	}
	byURL := map[string]*Registry{}
	var order []string
	add := func(url string) *Registry {
		if r, ok := byURL[url]; ok {
			return r
		}
		o := a.opts.Config.RegistryOrigin(url)
		r := &Registry{URL: url, Source: o.Source, NamedBy: NamedByProject}
		if o.ByUser {
			r.NamedBy = NamedByUser
		}
		if rt := a.regs[url]; rt != nil {
			r.Keys, r.KeysReason = rt.keys, rt.keysReason
			if rt.err != nil {
				r.Keys, r.KeysReason = keysUnknown, rt.err.Error()
			}
		}
		byURL[url] = r
		order = append(order, url)
		return r
	}
	def := add(a.opts.Config.DefaultRegistry())
	for _, i := range todo {
		r := add(a.opts.Config.RegistryFor(units[i].Name))
		r.Packages++
		p := &pkgs[i]
		if p.RegistrySignature != nil && p.RegistrySignature.Status == CheckVerified ||
			p.Attestations != nil && p.Attestations.Status == CheckVerified {
			r.Checked++
		}
	}
	sort.Strings(order[1:])
	out := make([]Registry, 0, len(order))
	out = append(out, *def)
	for _, u := range order[1:] {
		out = append(out, *byURL[u])
	}
	return out
}

// NothingVerified says why r is not a pass although nothing failed: it
// audited registry packages and not one of them could be checked against a
// trusted key or a verified attestation (a mirror that strips
// dist.signatures and its key endpoint, as some proxies do, leaves exactly
// that). It returns "" when something was checked or nothing was audited.
// The message names the registries and the likely cause.
func NothingVerified(r *Result) string {
	if r.Summary.Checked > 0 {
		return ""
	}
	var parts []string
	for _, reg := range r.Registries {
		if reg.Packages == 0 {
			continue
		}
		var cause string
		switch reg.Keys {
		case keysNone:
			cause = "its key endpoint says it publishes no signing keys and its versions carry no signatures or attestations that verify: a mirror or proxy that strips dist.signatures, dist.attestations and the key endpoint is the likely cause"
		case keysUnknown:
			cause = "its signing keys could not be had (" + reg.KeysReason + ")"
		default:
			cause = "none of its versions carries a signature or attestation that a trusted key verifies"
		}
		parts = append(parts, fmt.Sprintf("%d from %s (named by %s): %s", reg.Packages, reg.URL, reg.Source, cause))
	}
	if len(parts) == 0 {
		return ""
	}
	return "nothing was verified: 0 of " + strconv.Itoa(r.Summary.Audited) + " audited packages were checked against a trusted key or attestation; " +
		strings.Join(parts, "; ") + ". Audit against a registry that serves npm's signatures and attestations (--registry URL)"
}
