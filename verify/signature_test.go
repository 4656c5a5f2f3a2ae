package verify

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"sort"
	"testing"
	"time"
)

const expiredKeyID = "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"

// signedVersion is one version of a real manifest with its signatures.
type signedVersion struct {
	source        string
	name, version string
	integrity     string
	shasum        string
	sigs          []Signature
	published     time.Time
}

type manifestDist struct {
	Integrity  string      `json:"integrity"`
	Shasum     string      `json:"shasum"`
	Signatures []Signature `json:"signatures"`
}

// realSignedVersions reads every signed version of the real manifests:
// full packuments, corgi packuments (publish time from their full
// counterpart) and npm view outputs.
func realSignedVersions(t testing.TB) []signedVersion {
	t.Helper()
	type packument struct {
		Name     string `json:"name"`
		Versions map[string]struct {
			Dist manifestDist `json:"dist"`
		} `json:"versions"`
		Time map[string]string `json:"time"`
	}
	read := func(rel string) packument {
		var p packument
		if err := json.Unmarshal(fixture(t, rel), &p); err != nil {
			t.Fatal(rel, err)
		}
		return p
	}
	var out []signedVersion
	for _, pair := range [][2]string{
		{"manifests/npm-cli-arborist/has-package-exports.json", "manifests/npm-cli-arborist/has-package-exports.min.json"},
		{"manifests/npm-cli-arborist/ljharb-has-package-exports-patterns.json", "manifests/npm-cli-arborist/ljharb-has-package-exports-patterns.min.json"},
	} {
		full := read(pair[0])
		for _, rel := range pair {
			p := read(rel)
			vs := make([]string, 0, len(p.Versions))
			for v := range p.Versions {
				vs = append(vs, v)
			}
			sort.Strings(vs)
			for _, v := range vs {
				d := p.Versions[v].Dist
				published, err := time.Parse(time.RFC3339, full.Time[v])
				if err != nil {
					t.Fatalf("%s: time of %s: %v", pair[0], v, err)
				}
				out = append(out, signedVersion{rel, p.Name, v, d.Integrity, d.Shasum, d.Signatures, published})
			}
		}
	}
	for _, rel := range []string{"manifests/midas-npm-view/date-picker.json", "manifests/midas-npm-view/tag.json"} {
		var view struct {
			Name    string            `json:"name"`
			Version string            `json:"version"`
			Dist    manifestDist      `json:"dist"`
			Time    map[string]string `json:"time"`
		}
		if err := json.Unmarshal(fixture(t, rel), &view); err != nil {
			t.Fatal(rel, err)
		}
		published, err := time.Parse(time.RFC3339, view.Time[view.Version])
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		out = append(out, signedVersion{rel, view.Name, view.Version, view.Dist.Integrity, view.Dist.Shasum, view.Dist.Signatures, published})
	}
	// 11 + 11 + 3 + 3 + 1 + 1 signed versions (MANIFEST section 4).
	if len(out) != 30 {
		t.Fatalf("%d signed versions, want 30", len(out))
	}
	return out
}

func (sv *signedVersion) input() SignatureInput {
	return SignatureInput{
		Name: sv.name, Version: sv.version,
		Integrity: sv.integrity, ServedIntegrity: sv.integrity, ServedShasum: sv.shasum,
		Signatures: sv.sigs, PublishTime: sv.published,
	}
}

// TestRegistrySignatureReal checks every real registry signature with the
// pinned keys (TUF form) and with the registry's key list (endpoint form,
// from corepack), judged at the version's publish time.
func TestRegistrySignatureReal(t *testing.T) {
	versions := realSignedVersions(t)
	registryKeys, err := ParseNpmKeys(fixture(t, "trust/corepack/npm-keys-endpoint.json"))
	if err != nil {
		t.Fatal(err)
	}
	verifiers := map[string]*Verifier{
		"embedded pinned keys":               embeddedVerifier(t),
		"pinned + registry keys":             newVerifier(t, nil, nil, registryKeys, true, testNow),
		"registry endpoint keys pinned only": newVerifier(t, nil, fixture(t, "trust/corepack/npm-keys-endpoint.json"), nil, true, testNow),
	}
	for vname, v := range verifiers {
		for _, sv := range versions {
			t.Run(vname+"/"+sv.source+"/"+sv.version, func(t *testing.T) {
				if len(sv.sigs) != 1 || sv.sigs[0].KeyID != expiredKeyID {
					t.Fatalf("fixture signatures %+v", sv.sigs)
				}
				if !v.NeedsPublishTime(sv.sigs) {
					t.Fatal("NeedsPublishTime false for a signature by the expired key")
				}
				res := v.RegistrySignature(sv.input())
				if res.Status != StatusVerified || res.Err != nil {
					t.Fatalf("status %s: %v", res.Status, res.Err)
				}
				if res.KeyID != expiredKeyID || !res.Pinned || res.TimeSource != TimeSourcePublish || !res.JudgedAt.Equal(sv.published) || res.WeakIntegrity {
					t.Fatalf("result %+v", res)
				}

				// The same signature with no publish time cannot be judged.
				in := sv.input()
				in.PublishTime = time.Time{}
				res = v.RegistrySignature(in)
				if res.Status != StatusInvalid {
					t.Fatalf("no publish time: status %s", res.Status)
				}
				wantErrs(t, res.Err, ErrPublishTimeUnknown)

				// Judged at the rekor time source, same verdict.
				in = sv.input()
				in.TimeSource = TimeSourceRekor
				if res = v.RegistrySignature(in); res.Status != StatusVerified || res.TimeSource != TimeSourceRekor {
					t.Fatalf("rekor time: %+v", res)
				}

				// A sha1-only lockfile binds through dist.shasum: weak.
				in = sv.input()
				sha1, _ := hex.DecodeString(sv.shasum)
				in.Integrity = "sha1-" + base64.StdEncoding.EncodeToString(sha1)
				if res = v.RegistrySignature(in); res.Status != StatusVerified || !res.WeakIntegrity {
					t.Fatalf("sha1 lockfile: %+v", res)
				}
			})
		}
	}
}

// TestRegistrySignatureRealTampered breaks one real signature in every way.
func TestRegistrySignatureRealTampered(t *testing.T) {
	v := embeddedVerifier(t)
	sv := realSignedVersions(t)[0]
	other := realSignedVersions(t)[1]
	sig := sv.sigs[0]
	der, err := base64.StdEncoding.DecodeString(sig.Sig)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), der...)
	flipped[len(flipped)-3] ^= 0x01
	// The real signatures are by a pinned (embedded) key: whatever the
	// registry's key endpoint said, they are checked with it.
	noKeysV := newVerifier(t, nil, nil, nil, false, testNow)
	unknownKeysV := func() *Verifier {
		tr, err := NewTrust(TrustOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kr, err := NewKeyring(tr.PinnedKeys(), nil, KeyringOptions{Registry: KeysUnknown})
		if err != nil {
			t.Fatal(err)
		}
		v, err := NewVerifier(tr, kr, WithNow(func() time.Time { return testNow }))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}()

	tests := []struct {
		name   string
		v      *Verifier
		mutate func(in *SignatureInput)
		status Status
		want   []error
	}{
		{"flipped signature byte", v, func(in *SignatureInput) {
			in.Signatures = []Signature{{sig.KeyID, base64.StdEncoding.EncodeToString(flipped)}}
		}, StatusInvalid, []error{ErrSignatureInvalid}},
		{"signature not base64", v, func(in *SignatureInput) { in.Signatures = []Signature{{sig.KeyID, "!!"}} },
			StatusInvalid, []error{ErrSignatureInvalid, ErrMalformed}},
		{"signature of another version", v, func(in *SignatureInput) { in.Signatures = other.sigs },
			StatusInvalid, []error{ErrSignatureInvalid}},
		{"unknown keyid", v, func(in *SignatureInput) {
			in.Signatures = []Signature{{"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", sig.Sig}}
		}, StatusUntrusted, []error{ErrUnknownKey}},
		{"second signature by an unknown key", v, func(in *SignatureInput) {
			in.Signatures = append(in.Signatures, Signature{"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", sig.Sig})
		}, StatusUntrusted, []error{ErrUnknownKey}},
		{"unknown keyid and an altered signature", v, func(in *SignatureInput) {
			in.Signatures = []Signature{{"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", sig.Sig}, {sig.KeyID, base64.StdEncoding.EncodeToString(flipped)}}
		}, StatusInvalid, []error{ErrSignatureInvalid}},
		{"second signature invalid", v, func(in *SignatureInput) {
			in.Signatures = append(in.Signatures, Signature{sig.KeyID, base64.StdEncoding.EncodeToString(flipped)})
		}, StatusInvalid, []error{ErrSignatureInvalid}},
		{"published after the key expired", v, func(in *SignatureInput) { in.PublishTime = time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC) },
			StatusInvalid, []error{ErrKeyNotValidAtTime}},
		{"published before the key's window", v, func(in *SignatureInput) { in.PublishTime = time.Date(1998, 1, 1, 0, 0, 0, 0, time.UTC) },
			StatusInvalid, []error{ErrKeyNotValidAtTime}},
		{"publish time in the future", v, func(in *SignatureInput) { in.PublishTime = testNow.Add(48 * time.Hour) },
			StatusInvalid, []error{ErrMalformed}},
		{"unknown time source", v, func(in *SignatureInput) { in.TimeSource = "sundial" }, StatusInvalid, []error{ErrMalformed}},
		{"time source without time", v, func(in *SignatureInput) { in.PublishTime, in.TimeSource = time.Time{}, TimeSourceRekor },
			StatusInvalid, []error{ErrMalformed}},
		{"lockfile integrity differs", v, func(in *SignatureInput) { in.Integrity = other.integrity },
			StatusInvalid, []error{ErrIntegrityMismatch}},
		{"served integrity differs (signature over the served one)", v, func(in *SignatureInput) { in.ServedIntegrity = other.integrity },
			StatusInvalid, []error{ErrIntegrityMismatch}},
		{"lockfile sha512+sha1, served shasum differs", v, func(in *SignatureInput) {
			d, _ := hex.DecodeString(sv.shasum)
			in.Integrity += " sha1-" + base64.StdEncoding.EncodeToString(d)
			in.ServedShasum = other.shasum
		}, StatusInvalid, []error{ErrIntegrityMismatch}},
		{"sha1 lockfile, shasum differs", v, func(in *SignatureInput) {
			d, _ := hex.DecodeString(other.shasum)
			in.Integrity = "sha1-" + base64.StdEncoding.EncodeToString(d)
		}, StatusInvalid, []error{ErrIntegrityMismatch}},
		// An algorithm difference alone is no mismatch: unbound, and never
		// verified without the tarball's digests to link the two.
		{"signed integrity shares no algorithm with the lockfile", v, func(in *SignatureInput) {
			d, _ := hex.DecodeString(sv.shasum)
			in.ServedIntegrity, in.ServedShasum = "sha1-"+base64.StdEncoding.EncodeToString(d), ""
		}, StatusInvalid, []error{ErrIntegrityUnbound}},
		{"unsigned, served shasum only, sha512 lockfile", v, func(in *SignatureInput) {
			in.Signatures, in.ServedIntegrity = nil, ""
		}, StatusMissing, []error{ErrSignatureMissing}},
		{"no served integrity", v, func(in *SignatureInput) { in.ServedIntegrity = "" }, StatusInvalid, []error{ErrMalformed}},
		{"no lockfile integrity", v, func(in *SignatureInput) { in.Integrity = "" }, StatusInvalid, []error{ErrMalformed}},
		{"garbage lockfile integrity", v, func(in *SignatureInput) { in.Integrity = "sha512-%%%" }, StatusInvalid, []error{ErrMalformed}},
		{"no name", v, func(in *SignatureInput) { in.Name = "" }, StatusInvalid, []error{ErrMalformed}},
		{"signed for another name", v, func(in *SignatureInput) { in.Name = "has-package-exports-evil" }, StatusInvalid, []error{ErrSignatureInvalid}},
		{"no signatures", v, func(in *SignatureInput) { in.Signatures = nil }, StatusMissing, []error{ErrSignatureMissing}},
		{"registry without keys, genuine signature by a pinned key", noKeysV, func(*SignatureInput) {}, StatusVerified, nil},
		{"registry without keys, altered signature", noKeysV, func(in *SignatureInput) {
			in.Signatures = []Signature{{sig.KeyID, base64.StdEncoding.EncodeToString(flipped)}}
		}, StatusInvalid, []error{ErrSignatureInvalid}},
		{"registry without keys, unknown keyid", noKeysV, func(in *SignatureInput) {
			in.Signatures = []Signature{{"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", sig.Sig}}
		}, StatusUntrusted, []error{ErrUnknownKey}},
		{"registry without keys, no signatures", noKeysV, func(in *SignatureInput) { in.Signatures = nil }, StatusUnsupported, []error{ErrNoKeys}},
		{"registry without keys, integrity differs", noKeysV, func(in *SignatureInput) { in.Integrity = other.integrity },
			StatusInvalid, []error{ErrIntegrityMismatch}},
		{"registry keys unknown, genuine signature", unknownKeysV, func(*SignatureInput) {}, StatusVerified, nil},
		{"registry keys unknown, altered signature", unknownKeysV, func(in *SignatureInput) {
			in.Signatures = []Signature{{sig.KeyID, base64.StdEncoding.EncodeToString(flipped)}}
		}, StatusInvalid, []error{ErrSignatureInvalid}},
		{"registry keys unknown, no signatures", unknownKeysV, func(in *SignatureInput) { in.Signatures = nil }, StatusMissing, []error{ErrKeysUnknown}},
		{"too many signatures", v, func(in *SignatureInput) {
			for range maxSignatures {
				in.Signatures = append(in.Signatures, sig)
			}
		}, StatusInvalid, []error{ErrMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sv.input()
			tt.mutate(&in)
			res := tt.v.RegistrySignature(in)
			if res.Status != tt.status {
				t.Fatalf("status %s, want %s (%v)", res.Status, tt.status, res.Err)
			}
			if tt.want == nil {
				if res.Err != nil || res.KeyID != sig.KeyID || !res.Pinned {
					t.Fatalf("verified with %s (pinned %t), error %v", res.KeyID, res.Pinned, res.Err)
				}
				return
			}
			wantErrs(t, res.Err, tt.want...)
			t.Log(res.Err)
		})
	}
}

func TestRegistrySignatureUnsigned(t *testing.T) {
	// A real pre-2022 packument without signatures.
	var p struct {
		Name     string `json:"name"`
		Versions map[string]struct {
			Dist manifestDist `json:"dist"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(fixture(t, "manifests/pacote/abbrev-packument-full.json"), &p); err != nil {
		t.Fatal(err)
	}
	v := embeddedVerifier(t)
	n := 0
	for ver, m := range p.Versions {
		in := SignatureInput{Name: p.Name, Version: ver, Integrity: m.Dist.Integrity, ServedIntegrity: m.Dist.Integrity, ServedShasum: m.Dist.Shasum}
		if in.Integrity == "" {
			d, err := hex.DecodeString(m.Dist.Shasum)
			if err != nil {
				t.Fatal(err)
			}
			in.Integrity = "sha1-" + base64.StdEncoding.EncodeToString(d)
		}
		res := v.RegistrySignature(in)
		if res.Status != StatusMissing {
			t.Fatalf("%s: status %s (%v)", ver, res.Status, res.Err)
		}
		wantErrs(t, res.Err, ErrSignatureMissing)
		if v.NeedsPublishTime(nil) {
			t.Fatal("NeedsPublishTime without signatures")
		}
		n++
	}
	if n == 0 {
		t.Fatal("no versions")
	}
}
