package verify

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
)

// genWorld is a fake Sigstore with two npm keys (key 0 expired a year ago,
// key 1 valid now, like the 2025 rotation) and a Verifier trusting it.
type genWorld struct {
	fs *fakesigstore.Sigstore
	v  *Verifier
}

var (
	genOnce sync.Once
	gen     genWorld
	genErr  error
)

// Key windows of the generated world, relative to testNow.
var (
	genKey0Start = testNow.AddDate(-4, 0, 0)
	genKey0End   = testNow.AddDate(-1, 0, 0)
	genKey1Start = testNow.AddDate(-1, 0, -14)
)

func generated(t testing.TB) genWorld {
	t.Helper()
	genOnce.Do(func() {
		fs, err := fakesigstore.New(fakesigstore.Options{
			Now:     testNow,
			NpmKeys: []fakesigstore.KeySpec{{Start: genKey0Start, End: genKey0End}, {Start: genKey1Start}},
		})
		if err != nil {
			genErr = err
			return
		}
		tr, err := NewTrust(TrustOptions{TrustedRoot: fs.TrustedRoot(), NpmKeys: fs.NpmKeysTUF()})
		if err != nil {
			genErr = err
			return
		}
		reg, err := ParseNpmKeys(fs.NpmKeys())
		if err != nil {
			genErr = err
			return
		}
		kr, err := NewKeyring(tr.PinnedKeys(), reg, listedTrusted)
		if err != nil {
			genErr = err
			return
		}
		v, err := NewVerifier(tr, kr, WithNow(func() time.Time { return testNow }))
		gen, genErr = genWorld{fs, v}, err
	})
	if genErr != nil {
		t.Fatal(genErr)
	}
	return gen
}

// genIntegrity is the SRI of a made-up tarball for name@version.
func genIntegrity(name, version string) string {
	sum := sha512.Sum512([]byte("tarball of " + name + "@" + version))
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

func genAttest(t testing.TB, fs *fakesigstore.Sigstore, a fakesigstore.Attest) []byte {
	t.Helper()
	body, err := fs.Attestations(a)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestGeneratedAttestationsMatrix: every media type, Rekor entry kind and
// provenance predicate type the fake makes verifies, with the right facts.
func TestGeneratedAttestationsMatrix(t *testing.T) {
	g := generated(t)
	for _, mt := range fakesigstore.MediaTypes {
		for _, kind := range fakesigstore.EntryKinds {
			for _, pt := range fakesigstore.ProvenancePredicateTypes {
				for _, name := range []string{"left-pad", "@scope/pkg"} {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", mt, kind, pt, name), func(t *testing.T) {
						integ := genIntegrity(name, "1.2.3")
						a := fakesigstore.Attest{
							Name: name, Version: "1.2.3", Integrity: integ,
							Repository: "https://github.com/acme/widgets", Ref: "refs/tags/v1.2.3",
							Commit: "0123456789abcdef0123456789abcdef01234567", Workflow: ".github/workflows/publish.yml",
							PredicateType: pt, MediaType: mt, EntryKind: kind, NpmKey: 1,
							Runner: fakesigstore.RunnerSelfHosted,
						}
						res := g.v.Attestations(AttestationInput{
							Name: name, Version: "1.2.3", Integrity: integ, ServedIntegrity: integ,
							ExpectedPredicate: pt, Body: genAttest(t, g.fs, a),
						})
						if res.Status != StatusVerified {
							t.Fatalf("status %s: %v", res.Status, res.Err)
						}
						if res.Publish.KeyID != g.fs.NpmKeyID(1) || !res.Publish.Pinned || !res.Publish.IntegratedTime.Equal(testNow) {
							t.Fatalf("publish facts %+v", res.Publish)
						}
						p := res.Provenance
						if p.PredicateType != pt || p.SourceRepository != a.Repository || p.Commit != a.Commit ||
							p.WorkflowPath != a.Workflow || p.WorkflowRef != a.Ref || p.Issuer != IssuerGitHubActions ||
							p.RunnerEnvironment != fakesigstore.RunnerSelfHosted || !p.IntegratedTime.Equal(testNow) || p.LogIndex <= 0 {
							t.Fatalf("provenance facts %+v", p)
						}
						if p.RepositoryID == "" || p.OwnerID == "" || p.Owner != "https://github.com/acme" || p.BuildTrigger == "" || p.BuildSignerURI != p.CertificateSAN {
							t.Fatalf("certificate identity facts %+v", p)
						}
					})
				}
			}
		}
	}
}

// TestGeneratedTamper: every part the fake can tamper with, in either
// bundle, makes the response invalid for the right reason.
func TestGeneratedTamper(t *testing.T) {
	g := generated(t)
	want := map[fakesigstore.Part][]error{
		fakesigstore.TamperPayload:        {ErrBundleInvalid, ErrSignatureInvalid},
		fakesigstore.TamperSignature:      {ErrBundleInvalid, ErrSignatureInvalid},
		fakesigstore.TamperCertificate:    {ErrBundleInvalid, ErrCertificate},
		fakesigstore.TamperKeyHint:        {ErrUnknownKey},
		fakesigstore.TamperSET:            {ErrBundleInvalid, ErrTransparencyLog},
		fakesigstore.TamperInclusionProof: {ErrBundleInvalid, ErrTransparencyLog},
		fakesigstore.TamperRootHash:       {ErrBundleInvalid, ErrTransparencyLog},
		fakesigstore.TamperCheckpoint:     {ErrBundleInvalid, ErrTransparencyLog},
		fakesigstore.TamperBody:           {ErrBundleInvalid},
		fakesigstore.TamperIntegratedTime: {ErrBundleInvalid, ErrTransparencyLog},
		fakesigstore.TamperLogIndex:       {ErrBundleInvalid, ErrTransparencyLog},
	}
	for _, mt := range []string{fakesigstore.MediaTypeV01, fakesigstore.MediaTypeV03Alt} {
		for _, kind := range fakesigstore.EntryKinds {
			integ := genIntegrity("tampered", "2.0.0")
			body := genAttest(t, g.fs, fakesigstore.Attest{Name: "tampered", Version: "2.0.0", Integrity: integ, MediaType: mt, EntryKind: kind, NpmKey: 1})
			in := AttestationInput{Name: "tampered", Version: "2.0.0", Integrity: integ, ServedIntegrity: integ, ExpectedPredicate: PredicateSLSAv1, Body: body}
			if res := g.v.Attestations(in); res.Status != StatusVerified {
				t.Fatalf("%s/%s untampered: %v", mt, kind, res.Err)
			}
			for _, part := range fakesigstore.TamperParts {
				for i, which := range []string{"publish", "provenance"} {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", mt, kind, which, part), func(t *testing.T) {
						tampered, err := fakesigstore.TamperAttestation(body, i, part)
						if errors.Is(err, fakesigstore.ErrTamper) {
							t.Skipf("the %s bundle has no %s part", which, part)
						}
						if err != nil {
							t.Fatal(err)
						}
						tin := in
						tin.Body = tampered
						res := g.v.Attestations(tin)
						if res.Status != StatusInvalid || res.Publish != nil || res.Provenance != nil {
							t.Fatalf("status %s", res.Status)
						}
						wantErrs(t, res.Err, want[part]...)
					})
				}
			}
		}
	}
}

// TestGeneratedRules covers the binding, key and identity rules on
// generated data.
func TestGeneratedRules(t *testing.T) {
	g := generated(t)
	integ := genIntegrity("rules", "3.1.4")
	base := fakesigstore.Attest{Name: "rules", Version: "3.1.4", Integrity: integ, NpmKey: 1, Repository: "https://github.com/acme/rules"}
	in := func(body []byte) AttestationInput {
		return AttestationInput{Name: "rules", Version: "3.1.4", Integrity: integ, ServedIntegrity: integ, ExpectedPredicate: PredicateSLSAv1, Body: body}
	}
	other := genIntegrity("rules", "3.1.5")
	tests := []struct {
		name   string
		attest func(a *fakesigstore.Attest)
		input  func(in *AttestationInput)
		want   []error // nil = verified
	}{
		{"valid", nil, nil, nil},
		{"expired key, logged inside its window", func(a *fakesigstore.Attest) { a.NpmKey, a.IntegratedTime = 0, genKey0End.Add(-time.Hour) }, nil, nil},
		{"expired key, logged after its window", func(a *fakesigstore.Attest) { a.NpmKey = 0 }, nil, []error{ErrKeyNotValidAtTime}},
		{"expired key, logged a second before it expires", func(a *fakesigstore.Attest) { a.NpmKey, a.IntegratedTime = 0, genKey0End.Add(-time.Second) }, nil, nil},
		{"expired key, logged at the instant it expires", func(a *fakesigstore.Attest) { a.NpmKey, a.IntegratedTime = 0, genKey0End }, nil, []error{ErrKeyNotValidAtTime}},
		{"new key, logged before its window", func(a *fakesigstore.Attest) { a.IntegratedTime = genKey1Start.Add(-time.Hour) }, nil, []error{ErrKeyNotValidAtTime}},
		{"subject is another package", func(a *fakesigstore.Attest) { a.Name = "rules-evil" }, nil, []error{ErrSubjectName}},
		{"subject is another version", func(a *fakesigstore.Attest) { a.Version = "3.1.5" }, nil, []error{ErrSubjectName}},
		{"subject digest is another tarball", func(a *fakesigstore.Attest) { a.Integrity = other }, nil, []error{ErrSubjectDigest}},
		{"lockfile integrity differs", nil, func(in *AttestationInput) { in.Integrity, in.ServedIntegrity = other, other }, []error{ErrSubjectDigest}},
		{"served integrity differs from lockfile", nil, func(in *AttestationInput) { in.ServedIntegrity = other }, []error{ErrIntegrityMismatch}},
		{"unknown OIDC issuer", func(a *fakesigstore.Attest) { a.Issuer = "https://token.ci.example.com" }, nil, []error{ErrUntrustedIssuer}},
		{"GitHub issuer with a path", func(a *fakesigstore.Attest) { a.Issuer = IssuerGitHubActions + "/enterprise" }, nil, []error{ErrUntrustedIssuer}},
		{"provenance v0.2 announced v1", func(a *fakesigstore.Attest) { a.PredicateType = PredicateSLSAv02 }, nil, []error{ErrPredicateMissing}},
		{"no provenance, provenance announced", func(a *fakesigstore.Attest) { a.OmitProvenance = true }, nil, []error{ErrPredicateMissing}},
		{"no provenance, none announced", func(a *fakesigstore.Attest) { a.OmitProvenance = true }, func(in *AttestationInput) { in.ExpectedPredicate = "" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			if tt.attest != nil {
				tt.attest(&a)
			}
			ai := in(genAttest(t, g.fs, a))
			if tt.input != nil {
				tt.input(&ai)
			}
			res := g.v.Attestations(ai)
			if tt.want == nil {
				if res.Status != StatusVerified {
					t.Fatalf("status %s: %v", res.Status, res.Err)
				}
				return
			}
			if res.Status != StatusInvalid {
				t.Fatalf("status %s, want invalid", res.Status)
			}
			wantErrs(t, res.Err, tt.want...)
			t.Log(res.Err)
		})
	}

	// The fake makes GitHub-shaped certificates and predicates only; this
	// checks that the gitlab.com issuer itself is accepted.
	t.Run("GitLab issuer accepted", func(t *testing.T) {
		a := base
		a.Issuer = IssuerGitLab
		res := g.v.Attestations(in(genAttest(t, g.fs, a)))
		if res.Status != StatusVerified || res.Provenance.Issuer != IssuerGitLab || res.Provenance.SourceRepository != a.Repository {
			t.Fatalf("status %s facts %+v: %v", res.Status, res.Provenance, res.Err)
		}
	})
}

// TestGeneratedKeyrings: a publish key unknown to the keyring, a key only
// the registry lists, and a registry listing a pinned keyid with other
// material.
func TestGeneratedKeyrings(t *testing.T) {
	g := generated(t)
	integ := genIntegrity("keys", "1.0.0")
	body := genAttest(t, g.fs, fakesigstore.Attest{Name: "keys", Version: "1.0.0", Integrity: integ, NpmKey: 1})
	ai := AttestationInput{Name: "keys", Version: "1.0.0", Integrity: integ, ServedIntegrity: integ, ExpectedPredicate: PredicateSLSAv1, Body: body}
	keyid, sig := g.fs.SignRegistry(1, "keys", "1.0.0", integ)
	si := SignatureInput{Name: "keys", Version: "1.0.0", Integrity: integ, ServedIntegrity: integ, Signatures: []Signature{{keyid, sig}}}

	tr, err := NewTrust(TrustOptions{TrustedRoot: g.fs.TrustedRoot(), NpmKeys: g.fs.NpmKeysTUF()})
	if err != nil {
		t.Fatal(err)
	}
	pinned := tr.PinnedKeys()
	var only0 []Key
	for _, k := range pinned {
		if k.KeyID == g.fs.NpmKeyID(0) {
			only0 = append(only0, k)
		}
	}
	reg, err := ParseNpmKeys(g.fs.NpmKeys())
	if err != nil {
		t.Fatal(err)
	}
	build := func(t *testing.T, pinned, registry []Key, opts ...KeyringOptions) *Verifier {
		t.Helper()
		o := listedTrusted
		if len(opts) > 0 {
			o = opts[0]
		}
		kr, err := NewKeyring(pinned, registry, o)
		if err != nil {
			t.Fatal(err)
		}
		v, err := NewVerifier(tr, kr, WithNow(func() time.Time { return testNow }))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// A key nothing carries is not tampering: untrusted, as npm's
	// EMISSINGSIGNATUREKEY; whatever the registry's key endpoint said.
	for _, state := range []RegistryKeys{KeysListed, KeysNone, KeysUnknown} {
		t.Run("key unknown, registry keys "+state.String(), func(t *testing.T) {
			v := build(t, only0, nil, KeyringOptions{Registry: state, TrustRegistry: true})
			res := v.Attestations(ai)
			if res.Status != StatusUntrusted || res.Publish != nil || res.Provenance != nil {
				t.Fatalf("attestations %s %+v", res.Status, res)
			}
			wantErrs(t, res.Err, ErrUnknownKey)
			sres := v.RegistrySignature(si)
			if sres.Status != StatusUntrusted || sres.KeyID != keyid || sres.Pinned {
				t.Fatalf("signature %+v", sres)
			}
			wantErrs(t, sres.Err, ErrUnknownKey)
		})
	}
	var reg1 []Key
	for _, k := range reg {
		if k.KeyID == g.fs.NpmKeyID(1) {
			reg1 = append(reg1, k)
		}
	}
	// A registry only the audited project named: its keys verify the
	// signatures but are not trusted; an altered signature is still invalid.
	t.Run("key listed by a registry nobody trusts", func(t *testing.T) {
		v := build(t, only0, reg1, KeyringOptions{Registry: KeysListed})
		res := v.Attestations(ai)
		if res.Status != StatusUntrusted || res.Publish != nil {
			t.Fatalf("attestations %s: %v", res.Status, res.Err)
		}
		wantErrs(t, res.Err, ErrUntrustedKey)
		if errors.Is(res.Err, ErrUnknownKey) {
			t.Fatalf("reported as unknown: %v", res.Err)
		}
		sres := v.RegistrySignature(si)
		if sres.Status != StatusUntrusted || sres.KeyID != keyid {
			t.Fatalf("signature %+v", sres)
		}
		wantErrs(t, sres.Err, ErrUntrustedKey)
		if v.NeedsPublishTime(si.Signatures) {
			t.Fatal("an untrusted key needs no publish time")
		}
		bad := si
		bad.Signatures = []Signature{{keyid, flipSig(t, sig)}}
		if sres := v.RegistrySignature(bad); sres.Status != StatusInvalid {
			t.Fatalf("altered signature by an untrusted key: %+v", sres)
		}
		tampered, err := fakesigstore.TamperAttestation(body, 0, fakesigstore.TamperSignature)
		if err != nil {
			t.Fatal(err)
		}
		bai := ai
		bai.Body = tampered
		if res := v.Attestations(bai); res.Status != StatusInvalid {
			t.Fatalf("altered publish attestation by an untrusted key: %s %v", res.Status, res.Err)
		}
	})
	t.Run("key listed only by the registry", func(t *testing.T) {
		v := build(t, only0, reg1)
		res := v.Attestations(ai)
		if res.Status != StatusVerified || res.Publish.Pinned {
			t.Fatalf("status %s publish %+v: %v", res.Status, res.Publish, res.Err)
		}
		sres := v.RegistrySignature(si)
		if sres.Status != StatusVerified || sres.Pinned || sres.KeyID != keyid || sres.TimeSource != TimeSourceKeyValidNow {
			t.Fatalf("signature %+v", sres)
		}
	})
	t.Run("registry lists a pinned keyid with other material", func(t *testing.T) {
		other, err := fakesigstore.New(fakesigstore.Options{Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewKeyring(pinned, []Key{{KeyID: g.fs.NpmKeyID(1), Public: other.NpmPublicKey(0)}}, listedTrusted)
		wantErrs(t, err, ErrPinnedKeyMismatch)
	})
	t.Run("another Sigstore's trust", func(t *testing.T) {
		other, err := fakesigstore.New(fakesigstore.Options{Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		v := newVerifier(t, other.TrustedRoot(), other.NpmKeysTUF(), nil, true, testNow)
		res := v.Attestations(ai)
		wantErrs(t, res.Err, ErrUnknownKey, ErrBundleInvalid)
	})
}

// TestGeneratedRegistrySignatures judges generated registry signatures by
// the expired and the current key.
func TestGeneratedRegistrySignatures(t *testing.T) {
	g := generated(t)
	integ := genIntegrity("sig", "0.1.0")
	id0, sig0 := g.fs.SignRegistry(0, "sig", "0.1.0", integ)
	id1, sig1 := g.fs.SignRegistry(1, "sig", "0.1.0", integ)
	in := func(sigs ...Signature) SignatureInput {
		return SignatureInput{Name: "sig", Version: "0.1.0", Integrity: integ, ServedIntegrity: integ, Signatures: sigs}
	}
	if g.v.NeedsPublishTime([]Signature{{id1, sig1}}) {
		t.Fatal("current key needs a publish time")
	}
	if !g.v.NeedsPublishTime([]Signature{{id0, sig0}}) || !g.v.NeedsPublishTime([]Signature{{id1, sig1}, {id0, sig0}}) {
		t.Fatal("expired key does not need a publish time")
	}
	tests := []struct {
		name   string
		in     SignatureInput
		status Status
		source TimeSource
		want   error
	}{
		{"current key, no time", in(Signature{id1, sig1}), StatusVerified, TimeSourceKeyValidNow, nil},
		{"current key, publish time", func() SignatureInput {
			i := in(Signature{id1, sig1})
			i.PublishTime = testNow.Add(-time.Hour)
			return i
		}(), StatusVerified, TimeSourcePublish, nil},
		{"expired key, publish time in window", func() SignatureInput {
			i := in(Signature{id0, sig0})
			i.PublishTime = genKey0End.Add(-time.Hour)
			return i
		}(), StatusVerified, TimeSourcePublish, nil},
		{"expired key, rekor time in window", func() SignatureInput {
			i := in(Signature{id0, sig0})
			i.PublishTime, i.TimeSource = genKey0End.Add(-time.Hour), TimeSourceRekor
			return i
		}(), StatusVerified, TimeSourceRekor, nil},
		{"expired key, no time", in(Signature{id0, sig0}), StatusInvalid, "", ErrPublishTimeUnknown},
		{"expired key, published at the instant it expires", func() SignatureInput {
			i := in(Signature{id0, sig0})
			i.PublishTime = genKey0End
			return i
		}(), StatusInvalid, "", ErrKeyNotValidAtTime},
		{"expired key, published after expiry", func() SignatureInput {
			i := in(Signature{id0, sig0})
			i.PublishTime = genKey0End.Add(time.Hour)
			return i
		}(), StatusInvalid, "", ErrKeyNotValidAtTime},
		{"both keys, no time", in(Signature{id1, sig1}, Signature{id0, sig0}), StatusInvalid, "", ErrPublishTimeUnknown},
		{"signature swapped between keys", in(Signature{id1, sig0}), StatusInvalid, "", ErrSignatureInvalid},
		{"signature of another integrity", func() SignatureInput {
			i := in(Signature{id1, sig1})
			i.Integrity = genIntegrity("sig", "0.1.1")
			i.ServedIntegrity = i.Integrity
			return i
		}(), StatusInvalid, "", ErrSignatureInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := g.v.RegistrySignature(tt.in)
			if res.Status != tt.status {
				t.Fatalf("status %s, want %s: %v", res.Status, tt.status, res.Err)
			}
			if tt.want != nil {
				wantErrs(t, res.Err, tt.want)
				return
			}
			if res.Err != nil || res.TimeSource != tt.source || res.JudgedAt.IsZero() {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

// TestConcurrentUse runs Attestations and RegistrySignature from many
// goroutines on one Verifier (run with -race).
func TestConcurrentUse(t *testing.T) {
	g := generated(t)
	real := realAttestations[3]
	realIn := real.input(t)
	integ := genIntegrity("conc", "1.0.0")
	genIn := AttestationInput{Name: "conc", Version: "1.0.0", Integrity: integ, ServedIntegrity: integ, ExpectedPredicate: PredicateSLSAv1,
		Body: genAttest(t, g.fs, fakesigstore.Attest{Name: "conc", Version: "1.0.0", Integrity: integ, NpmKey: 1})}
	keyid, sig := g.fs.SignRegistry(1, "conc", "1.0.0", integ)
	sigIn := SignatureInput{Name: "conc", Version: "1.0.0", Integrity: integ, ServedIntegrity: integ, Signatures: []Signature{{keyid, sig}}}
	ev := embeddedVerifier(t)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			for range 4 {
				if r := ev.Attestations(realIn); r.Status != StatusVerified {
					errs <- fmt.Errorf("worker %d real: %w", i, r.Err)
				}
				if r := g.v.Attestations(genIn); r.Status != StatusVerified {
					errs <- fmt.Errorf("worker %d generated: %w", i, r.Err)
				}
				if r := g.v.RegistrySignature(sigIn); r.Status != StatusVerified {
					errs <- fmt.Errorf("worker %d signature: %w", i, r.Err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestClassifySigstoreWording drives sigstore-go itself (bypassing the
// pre-checks of verifyPublish) into its misleading messages and checks the
// mapping: an expired npm key reads "integrated time outside certificate
// validity", an unknown keyid "transparency log certificate does not match".
func TestClassifySigstoreWording(t *testing.T) {
	g := generated(t)
	integ := genIntegrity("wording", "1.0.0")
	w := &subjectWant{pkg: "wording@1.0.0", name: "wording", version: "1.0.0", purl: npmPurl("wording", "1.0.0")}
	b, err := bindIntegrity(w.pkg, integ, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	w.sha512 = b.sha512
	expired, err := g.fs.PublishBundle(fakesigstore.Attest{Name: "wording", Version: "1.0.0", Integrity: integ, NpmKey: 0})
	if err != nil {
		t.Fatal(err)
	}
	valid, err := g.fs.PublishBundle(fakesigstore.Attest{Name: "wording", Version: "1.0.0", Integrity: integ, NpmKey: 1})
	if err != nil {
		t.Fatal(err)
	}
	unknownHint, err := fakesigstore.Tamper(valid, fakesigstore.TamperKeyHint)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		raw     []byte
		wording string
		want    []error
	}{
		{"expired key", expired, "integrated time outside certificate validity", []error{ErrBundleInvalid, ErrKeyNotValidAtTime}},
		{"unknown keyid", unknownHint, "transparency log certificate does not match", []error{ErrBundleInvalid, ErrUnknownKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, errs := decodeBundle(w, "publish", PredicatePublish, tt.raw)
			if p == nil || len(errs) > 0 {
				t.Fatal(errs)
			}
			_, err := g.v.publish.Verify(p.bundle, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", w.sha512), sgverify.WithKey()))
			if err == nil || !strings.Contains(err.Error(), tt.wording) {
				t.Fatalf("sigstore-go said %v, want %q", err, tt.wording)
			}
			wantErrs(t, classify(w.pkg, "publish", true, err), tt.want...)
		})
	}
}

// TestGeneratedOtherPredicateTypes: a genuine attestation of a predicate
// type provaudit does not interpret is verified and listed, not invalid;
// announced, it must be there; altered or about another package, it fails
// like any other.
func TestGeneratedOtherPredicateTypes(t *testing.T) {
	g := generated(t)
	const sbom = "https://cyclonedx.org/bom/v1.6"
	integ := genIntegrity("other-types", "2.0.0")
	body := genAttest(t, g.fs, fakesigstore.Attest{Name: "other-types", Version: "2.0.0", Integrity: integ, NpmKey: 1, Extra: []string{sbom}})
	in := AttestationInput{Name: "other-types", Version: "2.0.0", Integrity: integ, ServedIntegrity: integ, ExpectedPredicate: PredicateSLSAv1, Body: body}

	res := g.v.Attestations(in)
	if res.Status != StatusVerified || res.Provenance == nil || res.Publish == nil {
		t.Fatalf("status %s: %v", res.Status, res.Err)
	}
	if got := strings.Join(res.PredicateTypes, " "); got != PredicatePublish+" "+PredicateSLSAv1+" "+sbom {
		t.Fatalf("predicate types %s", got)
	}

	announced := in
	announced.ExpectedPredicate = sbom
	if res := g.v.Attestations(announced); res.Status != StatusVerified {
		t.Fatalf("announced %s: %s %v", sbom, res.Status, res.Err)
	}
	announced.ExpectedPredicate = "https://example.com/absent/v1"
	if res := g.v.Attestations(announced); res.Status != StatusInvalid || !errors.Is(res.Err, ErrPredicateMissing) {
		t.Fatalf("announced but absent: %s %v", res.Status, res.Err)
	}

	tampered, err := fakesigstore.TamperAttestation(body, 2, fakesigstore.TamperSignature)
	if err != nil {
		t.Fatal(err)
	}
	bad := in
	bad.Body = tampered
	if res := g.v.Attestations(bad); res.Status != StatusInvalid || !errors.Is(res.Err, ErrSignatureInvalid) {
		t.Fatalf("altered %s attestation: %s %v", sbom, res.Status, res.Err)
	}

	otherPkg := genAttest(t, g.fs, fakesigstore.Attest{Name: "other-types", Version: "2.0.1", Integrity: integ, NpmKey: 1, Extra: []string{sbom}})
	var doc struct {
		Attestations []json.RawMessage `json:"attestations"`
	}
	var mine struct {
		Attestations []json.RawMessage `json:"attestations"`
	}
	if err := json.Unmarshal(otherPkg, &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &mine); err != nil {
		t.Fatal(err)
	}
	mine.Attestations[2] = doc.Attestations[2] // genuine, but for 2.0.1
	mixed, err := json.Marshal(mine)
	if err != nil {
		t.Fatal(err)
	}
	bad.Body = mixed
	if res := g.v.Attestations(bad); res.Status != StatusInvalid || !errors.Is(res.Err, ErrSubjectName) {
		t.Fatalf("%s attestation of another version: %s %v", sbom, res.Status, res.Err)
	}
}

// TestGeneratedSha1OnlyRegistry: an old version whose registry integrity is
// sha1 only, signed over that, locked with sha512. The tarball's digests
// link the two (as pacote checks both); without them the signature is
// unbound, not a mismatch.
func TestGeneratedSha1OnlyRegistry(t *testing.T) {
	g := generated(t)
	tarball := []byte("an old tarball")
	s1, s512 := sha1.Sum(tarball), sha512.Sum512(tarball)
	served := "sha1-" + base64.StdEncoding.EncodeToString(s1[:])
	lock := "sha512-" + base64.StdEncoding.EncodeToString(s512[:])
	keyid, sig := g.fs.SignRegistry(1, "old", "0.0.1", served)
	in := SignatureInput{Name: "old", Version: "0.0.1", Integrity: lock, ServedIntegrity: served, ServedShasum: hex.EncodeToString(s1[:]),
		Signatures: []Signature{{keyid, sig}}}
	if !NeedsTarball(in.Integrity, in.ServedIntegrity, in.ServedShasum) {
		t.Fatal("NeedsTarball = false")
	}
	res := g.v.RegistrySignature(in)
	if res.Status != StatusInvalid || !errors.Is(res.Err, ErrIntegrityUnbound) || errors.Is(res.Err, ErrIntegrityMismatch) {
		t.Fatalf("without the tarball: %s %v", res.Status, res.Err)
	}
	in.TarballIntegrity = served + " " + lock
	res = g.v.RegistrySignature(in)
	if res.Status != StatusVerified || !res.ViaTarball || !res.WeakIntegrity {
		t.Fatalf("with the tarball: %+v", res)
	}
	other := sha512.Sum512([]byte("another tarball"))
	in.TarballIntegrity = served + " sha512-" + base64.StdEncoding.EncodeToString(other[:])
	if res := g.v.RegistrySignature(in); res.Status != StatusInvalid || !errors.Is(res.Err, ErrIntegrityMismatch) {
		t.Fatalf("tarball that is not the lockfile's: %s %v", res.Status, res.Err)
	}
}

// TestProvenanceOnly: with ProvenanceOnly the provenance alone is
// verified: a broken (or absent) publish attestation does not matter, a
// broken provenance still does, and a response without provenance gives
// none.
func TestProvenanceOnly(t *testing.T) {
	g := generated(t)
	integ := genIntegrity("base", "1.0.0")
	body := genAttest(t, g.fs, fakesigstore.Attest{Name: "base", Version: "1.0.0", Integrity: integ, NpmKey: 1})
	in := AttestationInput{Name: "base", Version: "1.0.0", Integrity: integ, ServedIntegrity: integ, ExpectedPredicate: PredicateSLSAv1, ProvenanceOnly: true}

	in.Body = mutateBundle(t, body, 0, func(b map[string]any) { flipB64(t, b, "dsseEnvelope.signatures.0.sig", -2) })
	res := g.v.Attestations(in)
	if res.Status != StatusVerified || res.Provenance == nil || res.Publish != nil {
		t.Errorf("broken publish attestation: %s %v, provenance %v, publish %v", res.Status, res.Err, res.Provenance, res.Publish)
	}
	full := in
	full.ProvenanceOnly = false
	if res := g.v.Attestations(full); res.Status != StatusInvalid {
		t.Errorf("the same without ProvenanceOnly: %s, want invalid", res.Status)
	}

	var doc struct{ Attestations []json.RawMessage }
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	in.Body, _ = json.Marshal(map[string]any{"attestations": doc.Attestations[1:]})
	if res := g.v.Attestations(in); res.Status != StatusVerified || res.Provenance == nil {
		t.Errorf("provenance alone: %s %v", res.Status, res.Err)
	}

	in.Body = mutateBundle(t, body, 1, func(b map[string]any) { flipB64(t, b, "dsseEnvelope.signatures.0.sig", -2) })
	if res := g.v.Attestations(in); res.Status != StatusInvalid || !errors.Is(res.Err, ErrSignatureInvalid) {
		t.Errorf("broken provenance: %s %v, want invalid", res.Status, res.Err)
	}

	noProv := genAttest(t, g.fs, fakesigstore.Attest{Name: "base", Version: "1.0.0", Integrity: integ, NpmKey: 1, OmitProvenance: true})
	in.Body, in.ExpectedPredicate = noProv, ""
	if res := g.v.Attestations(in); res.Status != StatusVerified || res.Provenance != nil {
		t.Errorf("no provenance: %s %v, provenance %v", res.Status, res.Err, res.Provenance)
	}
}
