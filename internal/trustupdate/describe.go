package trustupdate

import (
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/provaudit/provaudit/verify"
)

const (
	// StaleAfter is the age past which material in use earns a warning:
	// Sigstore and npm have rotated keys with a few months' notice, so
	// material older than 90 days may miss a key that is in use.
	StaleAfter = 90 * 24 * time.Hour
	// EndingWithin is how close to its end a key valid now earns a
	// warning.
	EndingWithin = 30 * 24 * time.Hour
)

// Kinds of [Entry].
const (
	KindFulcioCA = "Fulcio CA"
	KindRekorLog = "Rekor log"
	KindCTLog    = "CT log"
	KindTSA      = "timestamp authority"
	KindNpmKey   = "npm key"
)

// Entry is one authority, log or key of the trust material with its
// validity window.
type Entry struct {
	// Kind is one of the Kind constants.
	Kind string
	// Name is the authority's or log's URI, or the npm key's keyid.
	Name string
	// LogID is a transparency or CT log's id (hex).
	LogID string
	// Usage is an npm key's usage ("npm:signatures", "npm:attestations",
	// "" for both).
	Usage string
	// Start and End bound the validity; zero is unbounded.
	Start, End time.Time
}

// Status says where t falls in the window: "valid", "ended" or
// "not yet valid".
func (e *Entry) Status(t time.Time) string {
	switch {
	case !e.Start.IsZero() && t.Before(e.Start):
		return "not yet valid"
	case !e.End.IsZero() && !t.Before(e.End):
		return "ended"
	}
	return "valid"
}

// DescribeTrustedRoot lists the entries of a trusted_root.json, parsed as
// sigstore-go parses it for verification: certificate authorities, Rekor
// logs, CT logs and timestamp authorities, each sorted by start.
func DescribeTrustedRoot(b []byte) ([]Entry, error) {
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	var cas, rekor, ct, tsa []Entry
	for _, ca := range tr.FulcioCertificateAuthorities() {
		if f, ok := ca.(*root.FulcioCertificateAuthority); ok {
			cas = append(cas, Entry{Kind: KindFulcioCA, Name: f.URI, Start: f.ValidityPeriodStart, End: f.ValidityPeriodEnd})
		}
	}
	for _, l := range tr.RekorLogs() {
		rekor = append(rekor, Entry{Kind: KindRekorLog, Name: l.BaseURL, LogID: hex.EncodeToString(l.ID), Start: l.ValidityPeriodStart, End: l.ValidityPeriodEnd})
	}
	for _, l := range tr.CTLogs() {
		ct = append(ct, Entry{Kind: KindCTLog, Name: l.BaseURL, LogID: hex.EncodeToString(l.ID), Start: l.ValidityPeriodStart, End: l.ValidityPeriodEnd})
	}
	for _, a := range tr.TimestampingAuthorities() {
		if t, ok := a.(*root.SigstoreTimestampingAuthority); ok {
			tsa = append(tsa, Entry{Kind: KindTSA, Name: t.URI, Start: t.ValidityPeriodStart, End: t.ValidityPeriodEnd})
		}
	}
	var out []Entry
	for _, group := range [][]Entry{cas, rekor, ct, tsa} {
		sortEntries(group)
		out = append(out, group...)
	}
	return out, nil
}

// DescribeNpmKeys lists npm keys (either form verify.ParseNpmKeys reads)
// with their usages and windows, sorted by start.
func DescribeNpmKeys(b []byte) ([]Entry, error) {
	keys, err := verify.ParseNpmKeys(b)
	if err != nil {
		return nil, fmt.Errorf("npm keys: %w", err)
	}
	out := make([]Entry, 0, len(keys))
	for _, k := range keys {
		out = append(out, Entry{Kind: KindNpmKey, Name: k.KeyID, Usage: k.Usage, Start: k.Start, End: k.End})
	}
	sortEntries(out)
	return out, nil
}

func sortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		if !es[i].Start.Equal(es[j].Start) {
			return es[i].Start.Before(es[j].Start)
		}
		if es[i].Name != es[j].Name {
			return es[i].Name < es[j].Name
		}
		return es[i].Usage < es[j].Usage
	})
}

// Warnings says what needs attention in one piece of material in use:
// material older than [StaleAfter] at now (asOf is when it was fetched or
// captured; zero means unknown and earns no age warning), and every entry
// valid now whose end is within [EndingWithin]. what names the piece in the
// messages.
func Warnings(what string, entries []Entry, asOf, now time.Time) []string {
	var out []string
	if !asOf.IsZero() && now.Sub(asOf) > StaleAfter {
		out = append(out, fmt.Sprintf("%s is %d days old (as of %s), more than %d: run provaudit trust update",
			what, int(now.Sub(asOf).Hours()/24), asOf.UTC().Format(time.DateOnly), int(StaleAfter.Hours()/24)))
	}
	for i := range entries {
		e := &entries[i]
		if e.Status(now) != "valid" || e.End.IsZero() || e.End.Sub(now) > EndingWithin {
			continue
		}
		name := e.Name
		if e.Usage != "" {
			name += " (" + e.Usage + ")"
		}
		out = append(out, fmt.Sprintf("%s: %s %s ends on %s, in %d days", what, e.Kind, name,
			e.End.UTC().Format(time.DateOnly), int(e.End.Sub(now).Hours()/24)))
	}
	return out
}
