package evidence

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/faketuf"
	"github.com/provaudit/provaudit/internal/trustupdate"
	"github.com/provaudit/provaudit/verify"
)

// trustBundle writes and reads a bundle with no answers whose manifest
// records trust with the members in extra, recorded at recorded.
func trustBundle(t *testing.T, trust Trust, recorded time.Time, extra map[string][]byte) *Bundle {
	t.Helper()
	rec, err := NewRecorder(http.DefaultTransport, RecorderOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m := testManifest("https://registry.invalid/")
	m.Trust, m.Recorded = trust, recorded
	var buf bytes.Buffer
	if _, err := rec.WriteBundle(&buf, m, extra); err != nil {
		t.Fatal(err)
	}
	b, err := Read(&buf, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tufUpdate runs a TUF update against a fake repository whose targets are
// a fake Sigstore's trusted root and a fake registry's keys, and returns it
// with the repository's root.
func tufUpdate(t *testing.T) (*trustupdate.State, []byte) {
	t.Helper()
	reg := registrytest.New(registrytest.Options{})
	t.Cleanup(reg.Close)
	kt, err := trustupdate.KeysTarget(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := faketuf.New(faketuf.Options{Targets: map[string][]byte{"trusted_root.json": reg.Sigstore().TrustedRoot(), kt: reg.Sigstore().NpmKeysTUF()}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(repo)
	t.Cleanup(srv.Close)
	res, err := trustupdate.Update(t.Context(), trustupdate.UpdateOptions{CacheDir: t.TempDir(), Mirror: srv.URL, Root: repo.Root(), Registry: reg.URL(), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return res.State, repo.Root()
}

var embeddedPieces = Trust{
	TrustedRoot: TrustPiece{Member: TrustedRootMember, Kind: TrustEmbedded, Source: "embedded"},
	NpmKeys:     TrustPiece{Member: NpmKeysMember, Kind: TrustEmbedded, Source: "embedded"},
}

func mustTrustError(t *testing.T, err error, member, want string) {
	t.Helper()
	mustError(t, err, ErrTrust, member, want)
}

func TestChooseTrustEmbedded(t *testing.T) {
	b := trustBundle(t, embeddedPieces, recordedAt, embeddedTrust())
	ct, err := b.ChooseTrust(TrustInput{})
	if err != nil {
		t.Fatal(err)
	}
	if ct.TrustedRoot.Origin != TrustEmbedded || ct.NpmKeys.Origin != TrustEmbedded || ct.TUF != nil || len(ct.Warnings) != 0 {
		t.Fatalf("chose %s and %s (TUF %v, warnings %q)", ct.TrustedRoot.Origin, ct.NpmKeys.Origin, ct.TUF, ct.Warnings)
	}
	if !bytes.Equal(ct.TrustedRoot.Data, verify.EmbeddedTrustedRoot()) {
		t.Fatal("the chosen trusted root is not the embedded one")
	}
}

// TestChooseTrustRecordedFile: material the recording was given as a file
// is not trusted because the bundle carries it; the person must give it,
// and a file other than the recorded one is used with a warning.
func TestChooseTrustRecordedFile(t *testing.T) {
	ss := registrytest.New(registrytest.Options{})
	t.Cleanup(ss.Close)
	fake := ss.Sigstore().TrustedRoot()
	tr := embeddedPieces
	tr.TrustedRoot = TrustPiece{Member: TrustedRootMember, Kind: TrustFile, Source: "--trusted-root /x/root.json"}
	b := trustBundle(t, tr, recordedAt, map[string][]byte{TrustedRootMember: fake, NpmKeysMember: verify.EmbeddedNpmKeys()})

	_, err := b.ChooseTrust(TrustInput{})
	mustTrustError(t, err, TrustedRootMember, "the trusted root the bundle was recorded with (--trusted-root /x/root.json) is not the one this provaudit embeds, and the bundle records no TUF update; material in a bundle is no trust by itself: pass --trusted-root FILE")

	ct, err := b.ChooseTrust(TrustInput{TrustedRoot: fake, TrustedRootName: "--trusted-root mine.json"})
	if err != nil || ct.TrustedRoot.Origin != TrustFile || ct.NpmKeys.Origin != TrustEmbedded || len(ct.Warnings) != 0 {
		t.Fatalf("with the same file: %+v, %v", ct, err)
	}
	ct, err = b.ChooseTrust(TrustInput{TrustedRoot: verify.EmbeddedTrustedRoot(), TrustedRootName: "--trusted-root other.json"})
	if err != nil || !bytes.Equal(ct.TrustedRoot.Data, verify.EmbeddedTrustedRoot()) || len(ct.Warnings) != 1 ||
		!strings.Contains(ct.Warnings[0], "--trusted-root other.json is not the trusted root the bundle was recorded with (--trusted-root /x/root.json, member trust/trusted_root.json)") {
		t.Fatalf("with another file: %+v, %v", ct, err)
	}
	// Material claimed to be embedded that is not is refused the same way.
	tr.TrustedRoot.Kind, tr.TrustedRoot.Source = TrustEmbedded, "embedded"
	b = trustBundle(t, tr, recordedAt, map[string][]byte{TrustedRootMember: fake, NpmKeysMember: verify.EmbeddedNpmKeys()})
	_, err = b.ChooseTrust(TrustInput{})
	mustTrustError(t, err, TrustedRootMember, "is not the one this provaudit embeds")
}

// TestChooseTrustTUF: material from a TUF update is used when the update
// the bundle records verifies from the person's --tuf-root (or the
// embedded root), judged at the recording time; never otherwise.
func TestChooseTrustTUF(t *testing.T) {
	st, root := tufUpdate(t)
	enc, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	tr := Trust{
		TrustedRoot: TrustPiece{Member: TrustedRootMember, Kind: TrustTUF, Source: "updated via TUF"},
		NpmKeys:     TrustPiece{Member: NpmKeysMember, Kind: TrustTUF, Source: "updated via TUF"},
		TUF:         TUFMember,
	}
	members := map[string][]byte{TrustedRootMember: st.TrustedRoot, NpmKeysMember: st.NpmKeys, TUFMember: enc}
	now := time.Now()
	b := trustBundle(t, tr, now, members)

	ct, err := b.ChooseTrust(TrustInput{TUFRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	if ct.TrustedRoot.Origin != TrustTUF || ct.NpmKeys.Origin != TrustTUF || ct.TUF == nil || !ct.TUF.Fetched.Equal(st.Fetched) {
		t.Fatalf("chose %s and %s, TUF %v", ct.TrustedRoot.Origin, ct.NpmKeys.Origin, ct.TUF)
	}

	// From the embedded root the update does not verify: nothing confirms it.
	_, err = b.ChooseTrust(TrustInput{})
	mustTrustError(t, err, TrustedRootMember, "the TUF update the bundle records does not verify from the TUF root this provaudit embeds")
	mustTrustError(t, err, NpmKeysMember, "does not verify")
	// A given root it does not verify from is an error naming the update.
	_, otherRepoRoot := tufUpdate(t)
	_, err = b.ChooseTrust(TrustInput{TUFRoot: otherRepoRoot})
	mustTrustError(t, err, TUFMember, "does not verify from --tuf-root")

	// Recorded before the update was fetched: the update is refused (its
	// fetch time lies after the instant the bundle is judged at).
	early := trustBundle(t, tr, st.Fetched.Add(-time.Hour), members)
	_, err = early.ChooseTrust(TrustInput{})
	mustTrustError(t, err, TrustedRootMember, "in the future")

	// A recorded piece that is not the update's target is refused, even
	// with the update verifying.
	swapped := map[string][]byte{TrustedRootMember: verify.EmbeddedTrustedRoot(), NpmKeysMember: st.TrustedRoot, TUFMember: enc}
	_, err = trustBundle(t, tr, now, swapped).ChooseTrust(TrustInput{TUFRoot: root})
	mustTrustError(t, err, NpmKeysMember, "nor is it a target of the TUF update the bundle records")

	// An update whose target was changed does not verify.
	var raw map[string]any
	if err := json.Unmarshal(enc, &raw); err != nil {
		t.Fatal(err)
	}
	raw["files"].(map[string]any)["trusted_root.json"] = []byte(`{"forged": true}`)
	forged, _ := json.Marshal(raw)
	_, err = trustBundle(t, tr, now, map[string][]byte{TrustedRootMember: []byte(`{"forged": true}`), NpmKeysMember: st.NpmKeys, TUFMember: forged}).ChooseTrust(TrustInput{TUFRoot: root})
	mustTrustError(t, err, TUFMember, "does not match targets metadata")
}

func TestChooseTrustFlags(t *testing.T) {
	b := trustBundle(t, embeddedPieces, recordedAt, embeddedTrust())
	_, err := b.ChooseTrust(TrustInput{TUFRoot: trustupdate.EmbeddedRoot()})
	mustTrustError(t, err, "", "--tuf-root verifies the TUF update a bundle records, and this bundle records none")

	pinned := embeddedPieces
	pinned.PinnedKeysOnly = true
	b = trustBundle(t, pinned, recordedAt, embeddedTrust())
	_, err = b.ChooseTrust(TrustInput{})
	mustTrustError(t, err, "", "the bundle was recorded with --npm-keys, so no registry was asked for its keys and none are recorded: pass --npm-keys FILE")
	ct, err := b.ChooseTrust(TrustInput{NpmKeys: verify.EmbeddedNpmKeys(), NpmKeysName: "--npm-keys k.json"})
	if err != nil || ct.NpmKeys.Origin != TrustFile {
		t.Fatalf("with --npm-keys: %+v, %v", ct, err)
	}
}
