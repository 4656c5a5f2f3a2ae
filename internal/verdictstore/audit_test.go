package verdictstore

import (
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/lockfile"
	"github.com/provaudit/provaudit/verify"
)

// The test lockfile: 3 attested, 1 publish-only, 2 plain packages.
const nAtt, nPub, nPlain = 3, 1, 2

// reportJSON is the JSON report of res without when the audit started and
// how long it took; with fresh, also without the time a signature's key was
// judged at when that is the time of verification (key-valid-now), for
// comparisons with packages verified at another moment.
func reportJSON(t *testing.T, res *audit.Result, fresh bool) string {
	t.Helper()
	c := *res
	c.Summary.StartedAt, c.Summary.DurationMS = time.Time{}, 0
	c.Packages = make([]audit.Package, len(res.Packages))
	for i, p := range res.Packages {
		if s := p.RegistrySignature; fresh && s != nil && s.TimeSource == audit.TimeSourceKeyValidNow {
			redacted := *s
			redacted.JudgedAt = nil
			p.RegistrySignature = &redacted
		}
		c.Packages[i] = p
	}
	b, err := json.MarshalIndent(&c, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeRun is run A: a trusted CI job with the signing key and an empty
// store, which verifies everything and writes what passed.
func writeRun(t *testing.T, e *auditEnv, url string, priv ed25519.PrivateKey) *audit.Result {
	t.Helper()
	var w warnings
	s := openStore(t, url, Options{SigningKey: priv}, &w)
	res := e.run(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m := w.list(); len(m) != 0 {
		t.Fatalf("run A warnings: %q", m)
	}
	return res
}

func wantClean(t *testing.T, res *audit.Result) {
	t.Helper()
	if s := res.Summary; s.Verified != nAtt+nPub || s.Signed != nPlain || s.Findings != 0 {
		t.Fatalf("summary %+v", s)
	}
}

// Run A writes; run B, on another machine (an empty local cache) with the
// same store and only the public key, fetches nothing but the registry's
// key list and reports exactly what run A did.
func TestSecondRunVerifiesNothingAgain(t *testing.T) { backends(t, testSecondRunVerifiesNothingAgain) }

func testSecondRunVerifiesNothingAgain(t *testing.T, url string) {
	e := newAuditEnv(t, nAtt, nPub, nPlain)
	pub, priv := newKey(t)
	resA := writeRun(t, e, url, priv)
	wantClean(t, resA)
	if n := len(listKeys(t, url)); n != nAtt+nPub+nPlain {
		t.Fatalf("run A wrote %d records, want %d", n, nAtt+nPub+nPlain)
	}

	e.reg.ResetStats()
	var w warnings
	s := openStore(t, url, Options{PublicKey: pub}, &w)
	resB := e.run(t, s)
	if a := attestationRequests(e.reg); a != 0 {
		t.Errorf("run B fetched attestations %d times", a)
	}
	if r, k := e.reg.Requests(), e.reg.RequestsFor("/-/npm/v1/keys"); r != 1 || k != 1 {
		t.Errorf("run B made %d requests (%d for the key list), want only the key list", r, k)
	}
	if a, b := reportJSON(t, resA, false), reportJSON(t, resB, false); a != b {
		t.Errorf("run B's report differs from run A's:\nA: %s\nB: %s", a, b)
	}
	if n := s.Stats(); n.Asked != 6 || n.Found != 6 || n.Ignored != 0 {
		t.Errorf("stats %+v", n)
	}
	if m := w.list(); len(m) != 0 {
		t.Errorf("warnings %q", m)
	}
}

// TestSecondRunWithHistory: with the release-history rules on, run A's
// records carry each package's release history, so run B fetches no
// packument either: only the key list.
func TestSecondRunWithHistory(t *testing.T) {
	e := newAuditEnv(t, nAtt, nPub, nPlain)
	url := fileURL(t)
	pub, priv := newKey(t)
	withHistory := func(o *audit.Options) { o.NoHistory = false }
	w := openStore(t, url, Options{SigningKey: priv}, nil)
	resA := e.run(t, w, withHistory)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantClean(t, resA)

	e.reg.ResetStats()
	r := openStore(t, url, Options{PublicKey: pub}, nil)
	resB := e.run(t, r, withHistory)
	if n, k := e.reg.Requests(), e.reg.RequestsFor("/-/npm/v1/keys"); n != 1 || k != 1 {
		t.Errorf("run B made %d requests (%d for the key list), want only the key list", n, k)
	}
	if a, b := reportJSON(t, resA, false), reportJSON(t, resB, false); a != b {
		t.Errorf("run B's report differs from run A's:\nA: %s\nB: %s", a, b)
	}
	for _, p := range resB.Packages {
		if p.Publication == nil {
			t.Errorf("%s: no publication from the stored history", p.Name)
		}
	}
}

// The stored verdict is policy-free: the reader's --require-provenance
// applies to it as to a fresh verdict.
func TestPolicyAppliesToStoredVerdicts(t *testing.T) {
	e := newAuditEnv(t, nAtt, nPub, nPlain)
	url := fileURL(t)
	pub, priv := newKey(t)
	writeRun(t, e, url, priv)
	requireProv := func(o *audit.Options) { o.RequireProvenance = true }
	fresh := e.run(t, nil, requireProv)
	e.reg.ResetStats()
	stored := e.run(t, openStore(t, url, Options{PublicKey: pub}, nil), requireProv)
	if attestationRequests(e.reg) != 0 {
		t.Fatal("the store was not used")
	}
	if stored.Summary.Findings != nPub+nPlain {
		t.Fatalf("%d findings under --require-provenance, want %d", stored.Summary.Findings, nPub+nPlain)
	}
	if a, b := reportJSON(t, fresh, true), reportJSON(t, stored, true); a != b {
		t.Errorf("from the store:\n%s\nverified afresh:\n%s", b, a)
	}
}

// storedKey finds the record of name that the writer of pub stored, and
// returns its object key and the store key it was made for: what the
// audit looks up.
func storedKey(t *testing.T, url string, pub ed25519.PublicKey, name string) (string, audit.StoreKey) {
	t.Helper()
	for _, k := range listKeys(t, url) {
		if !strings.HasPrefix(k, keyPrefix+keyDir(pub)+"/") {
			continue
		}
		var env envelope
		if err := json.Unmarshal(readObject(t, url, k), &env); err != nil {
			t.Fatal(err)
		}
		var rec record
		if err := json.Unmarshal(env.Payload, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Key.Name == name {
			return k, rec.Key
		}
	}
	t.Fatalf("no record of %s", name)
	return "", audit.StoreKey{}
}

// reseal replaces the record of name that the writer of pub stored with
// one signed by signer, for the key change makes of its key (nil: the same
// key), holding verdict (nil: the same verdict). It returns the key the
// audit looks up and the new record.
func reseal(t *testing.T, url string, pub ed25519.PublicKey, name string, signer ed25519.PrivateKey, change func(*audit.StoreKey), verdict []byte) (audit.StoreKey, []byte) {
	t.Helper()
	obj, k := storedKey(t, url, pub, name)
	if verdict == nil {
		v, err := openRecord(pub, readObject(t, url, obj), k)
		if err != nil {
			t.Fatal(err)
		}
		verdict = v
	}
	made := k
	if change != nil {
		change(&made)
	}
	rec, err := sealRecord(signer, made, verdict, "", testNow)
	if err != nil {
		t.Fatal(err)
	}
	writeObject(t, url, obj, rec)
	return k, rec
}

// No record that is altered, signed by another key, made for other trust
// material or another registry, or that records something other than a
// pass, is trusted: each of those packages is fetched and verified again,
// and the report is the same.
func TestUntrustedRecordsAreVerifiedAgain(t *testing.T) {
	backends(t, testUntrustedRecordsAreVerifiedAgain)
}

func testUntrustedRecordsAreVerifiedAgain(t *testing.T, url string) {
	e := newAuditEnv(t, nAtt, nPub, nPlain)
	pub, priv := newKey(t)
	_, other := newKey(t)
	resA := writeRun(t, e, url, priv)

	// att-000: one byte of the signed payload changed.
	obj, _ := storedKey(t, url, pub, "att-000")
	data := readObject(t, url, obj)
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	env.Payload = []byte(strings.Replace(string(env.Payload), `"publish attestation and provenance verified"`, `"publish attestation and provenance verifieD"`, 1))
	altered, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	writeObject(t, url, obj, altered)

	// att-001: the same record, signed by another key.
	reseal(t, url, pub, "att-001", other, nil, nil)
	// att-002: a record made for other trust material, stored where the
	// reader looks.
	reseal(t, url, pub, "att-002", priv, func(k *audit.StoreKey) { k.Trust = strings.Repeat("0", 64) }, nil)
	// plain-000: made against another registry.
	reseal(t, url, pub, "plain-000", priv, func(k *audit.StoreKey) { k.Registry = "https://other.registry.invalid/" }, nil)
	// pub-000: properly signed for its key, but recording a failure (a
	// writer must never store one; a reader must not take it).
	reseal(t, url, pub, "pub-000", priv, nil, []byte(`{"sig":{"status":"verified","reason":"ok"},"att":{"status":"invalid","reason":"forged failure"}}`))

	e.reg.ResetStats()
	var w warnings
	s := openStore(t, url, Options{PublicKey: pub}, &w)
	resB := e.run(t, s)
	for _, name := range []string{"att-000", "att-001", "att-002", "pub-000"} {
		if n := e.reg.RequestsFor("/-/npm/v1/attestations/" + name + "@"); n != 1 {
			t.Errorf("%s: attestations fetched %d times, want 1 (verified again)", name, n)
		}
	}
	if n := e.reg.RequestsFor("/plain-000"); n == 0 {
		t.Error("plain-000 was not fetched again")
	}
	for _, name := range []string{"plain-001"} {
		if n := e.reg.RequestsFor("/" + name); n != 0 {
			t.Errorf("%s, whose record is good, was fetched", name)
		}
	}
	if a, b := reportJSON(t, resA, true), reportJSON(t, resB, true); a != b {
		t.Errorf("run B's report differs from run A's:\nA: %s\nB: %s", a, b)
	}
	if n := s.Stats(); n.Found != 2 || n.Ignored != 4 {
		t.Errorf("stats %+v (the failure is found by the store and refused by audit)", n)
	}
	if m := w.list(); len(m) != 1 || !strings.Contains(m[0], "4 records ignored") {
		t.Errorf("warnings %q", m)
	}
}

// Records are bound to the situation they were made in: an audit with
// other trust material, against another registry serving the same
// packages, or against the same registry named only by the project, finds
// none of them and verifies everything itself.
func TestRecordsOfAnotherSituationAreNotFound(t *testing.T) {
	e := newAuditEnv(t, nAtt, nPub, nPlain)
	url := fileURL(t)
	pub, priv := newKey(t)
	writeRun(t, e, url, priv)

	// Other trust material: the same root with the fake registry's keys
	// pinned (it verifies the same signatures).
	pinned, err := verify.NewTrust(verify.TrustOptions{TrustedRoot: e.reg.Sigstore().TrustedRoot(), NpmKeys: e.reg.Sigstore().NpmKeys()})
	if err != nil {
		t.Fatal(err)
	}
	// Another registry, with the same packages and the same Sigstore.
	reg2 := registrytest.New(registrytest.Options{Sigstore: e.reg.Sigstore()})
	t.Cleanup(reg2.Close)
	if err := reg2.Add(e.pkgs...); err != nil {
		t.Fatal(err)
	}
	// The same registry, named only by the lockfile's resolved URLs.
	byProject, err := fetch.LoadConfig(fetch.ConfigOptions{Env: []string{"HOME=" + t.TempDir()}, ResolvedURLs: []string{e.reg.URL() + "att-000/-/att-000-1.0.0.tgz"}})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		reg  *registrytest.Registry
		mod  func(*audit.Options)
		want func(*audit.Result) bool
	}{
		{"other trust material", e.reg, func(o *audit.Options) { o.Trust = pinned }, func(r *audit.Result) bool { return r.Summary.Verified == nAtt+nPub }},
		{"another registry", reg2, func(o *audit.Options) {
			cfg := registryConfig(t, reg2.URL())
			c, err := fetch.NewClient(cfg, fetch.Options{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			o.Config, o.Client = cfg, c
		}, func(r *audit.Result) bool { return r.Summary.Verified == nAtt+nPub }},
		{"registry named by the project", e.reg, func(o *audit.Options) {
			c, err := fetch.NewClient(byProject, fetch.Options{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			o.Config, o.Client = byProject, c
		}, func(r *audit.Result) bool { return r.Registries[0].NamedBy == audit.NamedByProject }},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.reg.ResetStats()
			s := openStore(t, url, Options{PublicKey: pub}, nil)
			res := e.run(t, s, c.mod)
			if n := s.Stats(); n.Asked != nAtt+nPub+nPlain || n.Found != 0 {
				t.Fatalf("stats %+v: records of another situation were found", n)
			}
			if a := attestationRequests(c.reg); a != nAtt+nPub {
				t.Fatalf("%d attestation requests, want %d (everything verified again)", a, nAtt+nPub)
			}
			if !c.want(res) {
				t.Fatalf("result %+v", res.Summary)
			}
		})
	}
}

// A record claiming "verified" for a package whose attestations the
// registry serves tampered, signed by anyone but the store's writer, is
// ignored: the package is invalid. Under the forger's key the same record
// is taken, which proves it is the one the audit looks up (the signature
// is the only defence).
func TestForgedRecordForTamperedPackage(t *testing.T) {
	backends(t, testForgedRecordForTamperedPackage)
}

func testForgedRecordForTamperedPackage(t *testing.T, url string) {
	e := newAuditEnv(t, nAtt, nPub, nPlain)
	pub, priv := newKey(t)
	forgerPub, forger := newKey(t)
	writeRun(t, e, url, priv)
	k, forged := reseal(t, url, pub, "att-000", forger, nil, nil)
	writeObject(t, url, objectKey(keyDir(forgerPub), k), forged)
	if err := e.reg.TamperAttestations("att-000", "1.0.0", 0, fakesigstore.TamperSignature); err != nil {
		t.Fatal(err)
	}

	res := e.run(t, openStore(t, url, Options{PublicKey: pub}, nil))
	p := res.Packages[0]
	if p.Name != "att-000" || p.Status != audit.StatusInvalid || p.Attestations.Status != audit.CheckInvalid {
		t.Fatalf("%s is %s (%s): the forged record was used", p.Name, p.Status, p.Reason)
	}
	res = e.run(t, openStore(t, url, Options{PublicKey: forgerPub}, nil))
	if p := res.Packages[0]; p.Status != audit.StatusVerified {
		t.Fatalf("under the forger's key: %s (%s)", p.Status, p.Reason)
	}
}

// Failures are never written: a writer auditing a package with tampered
// attestations and one whose registry serves another integrity than the
// lockfile pins stores records for the others only.
func TestFailuresAreNeverWritten(t *testing.T) {
	e := newAuditEnv(t, nAtt, nPub, nPlain)
	url := fileURL(t)
	pub, priv := newKey(t)
	if err := e.reg.TamperAttestations("att-001", "1.0.0", 0, fakesigstore.TamperSignature); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Add(registrytest.Package{Name: "plain-000", Version: "1.0.0", Integrity: integrityOf("another tarball"), Signed: true}); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, url, Options{SigningKey: priv, PublicKey: pub}, nil)
	res := e.run(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if res.Summary.Invalid != 2 {
		t.Fatalf("summary %+v", res.Summary)
	}
	keys := listKeys(t, url)
	if len(keys) != nAtt+nPub+nPlain-2 {
		t.Fatalf("%d records written, want %d (passes only)", len(keys), nAtt+nPub+nPlain-2)
	}
	for _, k := range keys {
		var env envelope
		if err := json.Unmarshal(readObject(t, url, k), &env); err != nil {
			t.Fatal(err)
		}
		var rec record
		if err := json.Unmarshal(env.Payload, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Key.Name == "att-001" || rec.Key.Name == "plain-000" {
			t.Errorf("a record of %s, which did not pass, was written", rec.Key.Name)
		}
	}
}

// The store stopped in the middle of a run: the audit completes with every
// package verified, and says once that writing failed. A store that is
// down from the start, or too slow, costs at most one timeout: the audit
// completes and verifies everything itself.
func TestStoreStoppedMidRun(t *testing.T) {
	e := newAuditEnv(t, nAtt, nPub, nPlain)
	pub, priv := newKey(t)

	t.Run("during writes", func(t *testing.T) {
		f := newS3Fake(t)
		var w warnings
		s := openStore(t, f.url(), Options{SigningKey: priv, PublicKey: pub, Timeout: time.Second}, &w)
		stopped := false
		res := e.run(t, s, func(o *audit.Options) {
			o.VerifyWorkers = 1
			o.Progress = func(ev audit.Event) {
				if ev.Phase == audit.PhaseVerify && !stopped {
					stopped = true
					f.srv.Close()
				}
			}
		})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wantClean(t, res)
		if !stopped || w.count("writing a record failed") != 1 || len(w.list()) != 1 {
			t.Fatalf("warnings %q", w.list())
		}
	})
	t.Run("down", func(t *testing.T) {
		f := newS3Fake(t)
		var w warnings
		s := openStore(t, f.url(), Options{SigningKey: priv, PublicKey: pub, Timeout: time.Second}, &w)
		f.srv.Close()
		e.reg.ResetStats()
		wantClean(t, e.run(t, s))
		if attestationRequests(e.reg) != nAtt+nPub {
			t.Fatal("not every package was verified")
		}
		if w.count("is unavailable") != 1 || len(w.list()) != 1 {
			t.Fatalf("warnings %q", w.list())
		}
	})
	t.Run("slow", func(t *testing.T) {
		f := newS3Fake(t)
		f.delay.Store(int64(time.Minute))
		var w warnings
		s := openStore(t, f.url(), Options{SigningKey: priv, PublicKey: pub, Timeout: 300 * time.Millisecond}, &w)
		wantClean(t, e.run(t, s))
		if w.count("is unavailable") != 1 || len(w.list()) != 1 {
			t.Fatalf("warnings %q", w.list())
		}
	})
}

// A lockfile entry without an integrity installs whatever the registry
// serves that day: only the registry can vouch for it, so it is neither
// looked up nor written.
func TestUnpinnedEntriesAreNotShared(t *testing.T) {
	e := newAuditEnv(t, 1, 0, 1)
	unpinned := strings.Replace(string(e.json), `"integrity": "`+integrityOf("plain-000")+`"`, `"_": ""`, 1)
	lf, err := lockfile.Parse("package-lock.json", []byte(unpinned))
	if err != nil {
		t.Fatal(err)
	}
	e.lf = lf
	url := fileURL(t)
	pub, priv := newKey(t)
	s := openStore(t, url, Options{SigningKey: priv, PublicKey: pub}, nil)
	res := e.run(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if res.Packages[1].Name != "plain-000" || !res.Packages[1].Unpinned || res.Packages[1].Status != audit.StatusSigned {
		t.Fatalf("plain-000: %+v", res.Packages[1])
	}
	if n := s.Stats(); n.Asked != 1 || n.Written != 1 {
		t.Fatalf("stats %+v: the unpinned entry was looked up or written", n)
	}
}
