package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/registrytest"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/lockfile"
)

// forgeVerdicts stores, for every registry package of s, a "verified"
// verdict under the key this run computes, sealed with secret (an
// attacker who can write the cache directory but does not know the user's
// secret uses their own), as a cache directory restored from a poisoned CI
// cache would hold.
func forgeVerdicts(t *testing.T, s *setup, cacheDir string, secret []byte) {
	t.Helper()
	client := s.clientWithSecret(t, cacheDir, secret)
	a := newAuditor(Options{Lockfile: s.lf, Config: s.cfg, Client: client, Trust: s.trust})
	a.cache = client.Cache()
	units := lockfile.Units(s.lf)
	var todo []int
	for i := range units {
		todo = append(todo, i)
	}
	a.prepareRegistries(context.Background(), units, todo)
	forged := verdict{
		Sig: &SignatureCheck{Status: CheckVerified, Reason: "forged"},
		Att: &AttestationCheck{Status: CheckVerified, Reason: "forged", Publish: &Publish{KeyID: "forged"}, Provenance: &Provenance{SourceRepository: "https://github.com/forged/forged"}},
	}
	b, err := json.Marshal(forged)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range todo {
		w := &work{idx: i, unit: &units[i], reg: a.regs[s.cfg.RegistryFor(units[i].Name)]}
		a.fetch(context.Background(), w)
		if w.err != nil {
			t.Fatal(w.err)
		}
		if err := a.cache.PutSealed(a.verdictKey(w), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
}

// A cache directory written by someone else (a CI cache restored from
// another branch, or edited by hand) must not make a tampered package
// pass: verdicts and key lists are used only under the user's secret.
func TestRunPoisonedCache(t *testing.T) {
	s := newSetup(t, 1, 1)
	if err := s.reg.TamperAttestations("att-000", "1.0.0", 0, fakesigstore.TamperSignature); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	attacker := bytes.Repeat([]byte{0xa7}, fetch.SecretSize)
	forgeVerdicts(t, s, dir, attacker)

	for _, offline := range []bool{false, true} {
		opts := Options{Lockfile: s.lf, Config: s.cfg, Client: s.client(t, dir), Trust: s.trust, ReadOnlyCache: offline}
		if offline {
			c, err := fetch.NewClient(s.cfg, fetch.Options{CacheDir: dir, Offline: true, CacheSecret: s.secret})
			if err != nil {
				t.Fatal(err)
			}
			opts.Client = c
		}
		res, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		p := res.Packages[0]
		if p.Name != "att-000" || p.Status != StatusInvalid || p.Attestations.Status != CheckInvalid {
			t.Fatalf("offline %t: %s is %s (%s): the forged verdict was used", offline, p.Name, p.Status, p.Reason)
		}
	}

	// Proof that the forged verdicts are the ones a run would read: under
	// the attacker's secret they are taken (the MAC is the only defence).
	res, err := Run(context.Background(), Options{Lockfile: s.lf, Config: s.cfg, Client: s.clientWithSecret(t, dir, attacker), Trust: s.trust})
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Packages[0]; p.Status != StatusVerified || p.Attestations.Reason != "forged" {
		t.Fatalf("under the attacker's secret: %s %q", p.Status, p.Attestations.Reason)
	}
}

// A key is valid strictly before its expires instant, through the whole
// audit path: a version whose publish time (from the packument) or whose
// publish attestation's log time is the very instant the registry key
// expires is not signed by a valid key.
func TestRunKeyExpiresAtPublishInstant(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	expires := now.AddDate(0, -6, 0)
	ss, err := fakesigstore.New(fakesigstore.Options{Now: now, NpmKeys: []fakesigstore.KeySpec{
		{Start: now.AddDate(-5, 0, 0), End: expires}, {Start: expires},
	}})
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(registrytest.Options{Sigstore: ss})
	t.Cleanup(reg.Close)
	var b strings.Builder
	b.WriteString(`{"name": "t", "version": "1.0.0", "lockfileVersion": 3, "packages": {"": {"name": "t", "version": "1.0.0"}`)
	var pkgs []registrytest.Package
	for _, c := range []struct {
		name     string
		at       time.Time
		attested bool
	}{
		{"signed-before", expires.Add(-time.Second), false},
		{"signed-at", expires, false},
		{"attested-before", expires.Add(-time.Second), true},
		{"attested-at", expires, true},
	} {
		integ := registrytestSRI(c.name)
		fmt.Fprintf(&b, `,
"node_modules/%s": {"version": "1.0.0", "resolved": "https://registry.invalid/%s/-/%s-1.0.0.tgz", "integrity": %q}`, c.name, c.name, c.name, integ)
		p := registrytest.Package{Name: c.name, Version: "1.0.0", Integrity: integ, Signed: true, SignKey: 0, PublishTime: c.at}
		if c.attested {
			p.Attested, p.Attest = true, &fakesigstore.Attest{NpmKey: 0, IntegratedTime: c.at}
		}
		pkgs = append(pkgs, p)
	}
	b.WriteString("}}")
	lf, err := lockfile.Parse("package-lock.json", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	s := newSetupOn(t, reg, lf, pkgs...)
	res, err := Run(context.Background(), Options{Lockfile: s.lf, Config: s.cfg, Client: s.client(t, ""), Trust: s.trust})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{"signed-before": StatusSigned, "signed-at": StatusInvalid, "attested-before": StatusVerified, "attested-at": StatusInvalid}
	for _, p := range res.Packages {
		if p.Status != want[p.Name] {
			t.Errorf("%s: %s (%s), want %s", p.Name, p.Status, p.Reason, want[p.Name])
		}
	}
}

// JudgeAt is the verifiers' "now": a signature by a key that expired since
// is judged at JudgeAt when the key was valid then (no publish time needed),
// while the result's timing still follows the clock.
func TestRunJudgeAt(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	expires := now.AddDate(-1, 0, 0)
	ss, err := fakesigstore.New(fakesigstore.Options{Now: now, NpmKeys: []fakesigstore.KeySpec{{Start: now.AddDate(-5, 0, 0), End: expires}}})
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(registrytest.Options{Sigstore: ss})
	t.Cleanup(reg.Close)
	lf, pkgs := testLockfile(t, 0, 1)
	pkgs[0].PublishTime = expires.AddDate(0, -2, 0)
	s := newSetupOn(t, reg, lf, pkgs...)

	run := func(judgeAt time.Time) Package {
		t.Helper()
		res, err := Run(context.Background(), Options{Lockfile: s.lf, Config: s.cfg, Client: s.client(t, ""), Trust: s.trust, JudgeAt: judgeAt})
		if err != nil {
			t.Fatal(err)
		}
		if res.Summary.StartedAt.Before(now) {
			t.Errorf("startedAt %s follows JudgeAt, not the clock", res.Summary.StartedAt)
		}
		return res.Packages[0]
	}
	p := run(time.Time{})
	if p.Status != StatusSigned || p.RegistrySignature.TimeSource != TimeSourcePublish || !p.RegistrySignature.JudgedAt.Equal(pkgs[0].PublishTime) {
		t.Fatalf("judged by the clock: %s, %+v; want signed at the publish time", p.Status, p.RegistrySignature)
	}
	at := expires.AddDate(0, -1, 0)
	p = run(at)
	if p.Status != StatusSigned || p.RegistrySignature.TimeSource != TimeSourceKeyValidNow || !p.RegistrySignature.JudgedAt.Equal(at) {
		t.Fatalf("judged at %s: %s, %+v; want signed by a key valid then", at, p.Status, p.RegistrySignature)
	}
	// After the key's end the signature needs its publish time again.
	p = run(expires.AddDate(0, 1, 0))
	if p.RegistrySignature.TimeSource != TimeSourcePublish {
		t.Fatalf("judged after the key's end: %+v", p.RegistrySignature)
	}
}
