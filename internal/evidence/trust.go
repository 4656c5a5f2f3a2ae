package evidence

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/provaudit/provaudit/internal/trustupdate"
	"github.com/provaudit/provaudit/verify"
)

// Kinds of trust material (TrustPiece.Kind and ChosenPiece.Origin).
const (
	// TrustEmbedded is the material the binary embeds.
	TrustEmbedded = "embedded"
	// TrustTUF is a target of a TUF update.
	TrustTUF = "tuf"
	// TrustFile is a file the person running provaudit passed.
	TrustFile = "file"
)

// ErrTrust reports trust material of a bundle that nothing the person
// running provaudit trusts confirms.
var ErrTrust = errors.New("evidence trust material")

// TrustInput is the trust the person auditing from a bundle brings.
type TrustInput struct {
	// TrustedRoot and NpmKeys are the files given with --trusted-root and
	// --npm-keys (nil: not given); TrustedRootName and NpmKeysName name
	// them in messages.
	TrustedRoot, NpmKeys         []byte
	TrustedRootName, NpmKeysName string
	// TUFRoot is the TUF root given with --tuf-root (nil: the embedded
	// one).
	TUFRoot []byte
}

// ChosenTrust is the trust material an audit from a bundle uses.
type ChosenTrust struct {
	TrustedRoot, NpmKeys ChosenPiece
	// TUF is the bundle's TUF update, verified, when a piece comes from it.
	TUF *trustupdate.State
	// Warnings say where the audit's trust differs from the recording's.
	Warnings []string
}

// ChosenPiece is one piece of chosen material and what confirmed it.
type ChosenPiece struct {
	Data []byte
	// Origin is TrustEmbedded, TrustTUF or TrustFile.
	Origin string
}

// ChooseTrust decides the trust material of an audit from the bundle. The
// material a bundle records is not trust by itself; per piece (trusted
// root, npm keys):
//   - a file the person passes (--trusted-root, --npm-keys) is used, as in
//     any audit; when it differs from the recorded piece a warning says so;
//   - otherwise the recorded piece is used only when it is byte for byte the
//     piece this binary embeds, or a target of the TUF update recorded in
//     the bundle that verifies, offline and judged at the recording time,
//     from the TUF root this binary embeds or the person's --tuf-root
//     (exactly as a stored update is verified); anything else is refused
//     with an error naming the member and how to proceed.
//
// A bundle recorded with pinned keys only (no registry asked for its keys)
// needs --npm-keys; a --tuf-root needs a TUF update in the bundle that
// verifies from it.
func (b *Bundle) ChooseTrust(in TrustInput) (*ChosenTrust, error) {
	tr := b.Manifest.Trust
	if tr.PinnedKeysOnly && in.NpmKeys == nil {
		return nil, fmt.Errorf("%w: the bundle was recorded with --npm-keys, so no registry was asked for its keys and none are recorded: pass --npm-keys FILE (the recorded keys are member %s)", ErrTrust, tr.NpmKeys.Member)
	}
	out := &ChosenTrust{}
	var tufErr error
	rootName := "the TUF root this provaudit embeds"
	if in.TUFRoot != nil {
		rootName = "--tuf-root"
	}
	switch {
	case tr.TUF != "":
		out.TUF, tufErr = trustupdate.Decode(b.Member(tr.TUF), in.TUFRoot, b.Manifest.Recorded)
		if tufErr != nil && in.TUFRoot != nil {
			return nil, fmt.Errorf("%w: %w", ErrTrust, &MemberError{tr.TUF, "does not verify from --tuf-root: " + tufErr.Error()})
		}
	case in.TUFRoot != nil:
		return nil, fmt.Errorf("%w: --tuf-root verifies the TUF update a bundle records, and this bundle records none (its trusted root came from %s, its npm keys from %s)", ErrTrust, tr.TrustedRoot.Source, tr.NpmKeys.Source)
	}
	var tufRoot, tufKeys []byte
	if out.TUF != nil {
		tufRoot, tufKeys = out.TUF.TrustedRoot, out.TUF.NpmKeys
	}
	var err error
	for _, p := range []struct {
		what, flag, given string
		data              []byte
		rec               TrustPiece
		embedded, tuf     []byte
		dst               *ChosenPiece
	}{
		{"trusted root", "--trusted-root", in.TrustedRootName, in.TrustedRoot, tr.TrustedRoot, verify.EmbeddedTrustedRoot(), tufRoot, &out.TrustedRoot},
		{"npm keys", "--npm-keys", in.NpmKeysName, in.NpmKeys, tr.NpmKeys, verify.EmbeddedNpmKeys(), tufKeys, &out.NpmKeys},
	} {
		recorded := b.Member(p.rec.Member)
		if p.data != nil {
			if !bytes.Equal(p.data, recorded) {
				out.Warnings = append(out.Warnings, fmt.Sprintf("%s is not the %s the bundle was recorded with (%s, member %s): verdicts may differ from the recording's", p.given, p.what, p.rec.Source, p.rec.Member))
			}
			*p.dst = ChosenPiece{Data: p.data, Origin: TrustFile}
			continue
		}
		fromTUF := p.tuf != nil && bytes.Equal(recorded, p.tuf)
		fromBinary := bytes.Equal(recorded, p.embedded)
		switch {
		case fromTUF && (p.rec.Kind == TrustTUF || !fromBinary):
			*p.dst = ChosenPiece{Data: recorded, Origin: TrustTUF}
		case fromBinary:
			*p.dst = ChosenPiece{Data: recorded, Origin: TrustEmbedded}
		default:
			why := "the bundle records no TUF update"
			switch {
			case tufErr != nil:
				why = "the TUF update the bundle records does not verify from " + rootName + ": " + tufErr.Error()
			case out.TUF != nil:
				why = "nor is it a target of the TUF update the bundle records"
			}
			err = errors.Join(err, &MemberError{p.rec.Member, fmt.Sprintf("the %s the bundle was recorded with (%s) is not the one this provaudit embeds, and %s; material in a bundle is no trust by itself: pass %s FILE with material you trust (or --tuf-root FILE when it came from a private TUF repository)", p.what, p.rec.Source, why, p.flag)})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTrust, err)
	}
	if out.TrustedRoot.Origin != TrustTUF && out.NpmKeys.Origin != TrustTUF {
		out.TUF = nil
	}
	return out, nil
}
