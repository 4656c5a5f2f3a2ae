package audit

import (
	"context"
	"encoding/json"

	"github.com/provaudit/provaudit/fetch"
)

// VerdictStore is a store of verdicts shared by the runs of an
// organisation (package internal/verdictstore implements it on object
// storage, with records signed by a trusted writer). Audit asks it once,
// before anything is fetched, for the packages to audit; a package it holds
// a verdict for is neither fetched nor verified again. Verdicts of packages
// that verified clean are handed to Save.
//
// The store must return only verdicts that a writer the person running the
// audit trusts made for exactly the key asked for, and must bound the time
// Lookup takes whatever the store's backend does. Audit checks again that
// what it gets back is a pass, and classifies it under its own policy.
type VerdictStore interface {
	// Lookup returns, by index of keys, the stored verdict of each key,
	// or nil where the store has none it trusts.
	Lookup(ctx context.Context, keys []StoreKey) [][]byte
	// Save stores the verdict of a package that verified clean. It must
	// not block on the backend: stores write in the background.
	Save(key StoreKey, verdict []byte)
}

// StoreKey names a verdict in a [VerdictStore] by everything it depends on
// that is known before the package is fetched: the package as the lockfile
// pins it, the verdict format, the trust material, and the registry the
// package is checked against with what its keys are worth. A verdict made
// in any other situation (other trust material, another registry, the same
// registry named by the audited project rather than by the person running
// provaudit, another key list) has another key and is never used.
//
// It holds no policy: findings are derived from the verdict at read time,
// so one verdict serves every --require-provenance, --require-signatures
// and --omit setting.
type StoreKey struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Integrity string `json:"integrity"`
	// VerdictFormat names the format and the rules of verdicts; it changes
	// whenever what a verdict means does.
	VerdictFormat string `json:"verdictFormat"`
	// Trust is the digest of the trust material (Sigstore trusted root
	// and pinned npm keys).
	Trust string `json:"trust"`
	// Registry is the URL of the registry the package was checked against.
	Registry string `json:"registry"`
	// RegistryNamedBy is NamedByUser or NamedByProject (see
	// [Registry].NamedBy): whether the registry's listed keys were trusted.
	RegistryNamedBy string `json:"registryNamedBy"`
	// RegistryKeys is the digest of the keyring the package was verified
	// with: the pinned keys and the registry's listed keys, their trust,
	// and what the key endpoint said.
	RegistryKeys string `json:"registryKeys"`
}

// storeKey is the key of w's verdict in the verdict store; false when the
// package cannot be looked up: the lockfile pins no integrity (what would
// be installed is whatever the registry serves today, so only the registry
// can say), or its registry has no verifier.
func (a *auditor) storeKey(w *work) (StoreKey, bool) {
	rt := w.reg
	if w.unit.Integrity == "" || rt == nil || rt.err != nil || rt.keysDigest == "" {
		return StoreKey{}, false
	}
	namedBy := NamedByProject
	if rt.origin.ByUser {
		namedBy = NamedByUser
	}
	return StoreKey{
		Name: w.unit.Name, Version: w.unit.Version, Integrity: w.unit.Integrity,
		VerdictFormat: verdictFormat, Trust: a.trustD,
		Registry: rt.url, RegistryNamedBy: namedBy, RegistryKeys: rt.keysDigest,
	}, true
}

// lookupStore asks the verdict store about every work item that has a key
// and attaches the verdicts it may use. A stored verdict that does not
// decode or is not a pass is ignored: the package is verified as usual.
func (a *auditor) lookupStore(ctx context.Context, ws []*work) {
	if a.opts.VerdictStore == nil || ctx.Err() != nil {
		return
	}
	var (
		keys []StoreKey
		idx  []*work
	)
	for _, w := range ws {
		if k, ok := a.storeKey(w); ok {
			keys = append(keys, k)
			idx = append(idx, w)
		}
	}
	if len(keys) == 0 {
		return
	}
	got := a.opts.VerdictStore.Lookup(ctx, keys)
	for i, b := range got {
		if i >= len(idx) || b == nil {
			continue
		}
		var rec storeRecord
		if json.Unmarshal(b, &rec) == nil && storable(rec.verdict) {
			w := idx[i]
			w.stored = &rec.verdict
			a.historyFromStore(w, rec)
		}
	}
}

// storeRecord is what a verdict store record holds: the verdict and, when
// the writer had them, the package's release history and its baseline's
// verified identity, so that a reader judges the history rules without
// fetching the packument or the baseline's attestations again. (A record
// of a verdict alone, as older writers wrote, decodes too.) Both never
// change once the version is published, as the cache's copies do not.
type storeRecord struct {
	verdict
	History  *fetch.History `json:"history,omitempty"`
	Baseline *Provenance    `json:"baseline,omitempty"`
}

// historyFromStore gives w the release history and baseline identity of
// its store record when they are for its package; what is missing or for
// another package is fetched as usual.
func (a *auditor) historyFromStore(w *work, rec storeRecord) {
	h := rec.History
	if h == nil || h.Name != w.unit.Name || h.Version.Version != w.unit.Version {
		return
	}
	w.history = h
	if b := h.Earlier.Provenance; b != nil && rec.Baseline != nil && rec.Baseline.PredicateType != "" && b.Integrity != "" {
		w.base = &baseline{facts: b, key: a.baselineKey(w, b), prov: rec.Baseline}
	}
}

// needsFetch reports whether a package the store holds a verdict for still
// needs something from the registry: its release history when the audit
// wants one and the record has none, or its baseline's attestations when
// identity-drift is on, the package has provenance, and the record holds
// no verified baseline identity.
func (a *auditor) needsFetch(w *work) bool {
	if !a.plan.wanted() {
		return false
	}
	if w.history == nil {
		return true
	}
	return a.plan.baseline && w.stored.Att != nil && w.stored.Att.Provenance != nil &&
		w.history.Earlier.Provenance != nil && w.base == nil
}

// saveToStore hands a freshly derived verdict that is a pass to the
// verdict store, with the release history and the baseline identity the
// audit judged it with (see storeRecord): it runs after judgeHistory. Failures are never stored: an attacker must not be able to
// pin one, and every run checks them again.
func (a *auditor) saveToStore(w *work, v verdict) {
	if a.opts.VerdictStore == nil || w.stored != nil || !storable(v) {
		return
	}
	k, ok := a.storeKey(w)
	if !ok {
		return
	}
	rec := storeRecord{verdict: v, History: w.history}
	if w.base != nil && w.base.prov != nil {
		rec.Baseline = w.base.prov
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	a.opts.VerdictStore.Save(k, b)
}

// storable reports whether a verdict is a pass that may be shared: nothing
// invalid, untrusted or undetermined, a registry signature that verified
// (or a registry without keys and verified attestations), and attestations
// that verified or that the version does not have. Whether a missing
// provenance is a finding is policy, decided when the verdict is used.
func storable(v verdict) bool {
	if v.Sig == nil || v.Att == nil || v.SigUndetermined || v.IntegrityMismatch || v.Unbound || v.KeysUnknown {
		return false
	}
	switch v.Sig.Status {
	case CheckVerified:
		return v.Att.Status == CheckVerified || v.Att.Status == CheckMissing
	case CheckUnsupported:
		return v.Att.Status == CheckVerified
	}
	return false
}
