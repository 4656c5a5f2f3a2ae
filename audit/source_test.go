package audit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/provaudit/provaudit/fetch"
	"github.com/provaudit/provaudit/internal/registrytest/fakesigstore"
	"github.com/provaudit/provaudit/verify"
)

// memSource is a Source in memory: the orchestration of an audit tested
// without HTTP. Documents are built by fakesigstore; errs makes a package
// fail as a network failure would.
type memSource struct {
	keys      []byte
	manifests map[string]*fetch.Manifest // name@version
	atts      map[string][]byte          // name@version
	errs      map[string]error           // name@version
	mu        sync.Mutex
	calls     map[string]int // method name@version
}

func (m *memSource) count(method, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls[method+" "+id]++
}

func (m *memSource) RegistryKeys(context.Context, string) ([]byte, error) {
	m.count("keys", "")
	return m.keys, nil
}

func (m *memSource) Manifest(_ context.Context, name, version, _ string) (*fetch.Manifest, error) {
	id := name + "@" + version
	m.count("manifest", id)
	if err := m.errs[id]; err != nil {
		return nil, err
	}
	doc, ok := m.manifests[id]
	if !ok {
		return nil, fmt.Errorf("%s: %w", id, fetch.ErrNotFound)
	}
	c := *doc // the audit may not change the source's copy
	return &c, nil
}

func (m *memSource) TarballDigests(context.Context, *fetch.Manifest) (string, error) {
	return "", errors.New("memSource serves no tarballs")
}

func (m *memSource) AttestationsBody(_ context.Context, doc *fetch.Manifest) (*fetch.Body, error) {
	id := doc.Name + "@" + doc.Version
	m.count("attestations", id)
	b, ok := m.atts[id]
	if !ok {
		return nil, fmt.Errorf("attestations of %s: %w", id, fetch.ErrNotFound)
	}
	return &fetch.Body{Data: b}, nil
}

func (m *memSource) PublishInfo(_ context.Context, name, version string, _ ...string) (*fetch.PublishInfo, error) {
	m.count("publishinfo", name+"@"+version)
	return nil, errors.New("memSource has no packuments")
}

func (m *memSource) History(_ context.Context, name, version string, _ ...string) (*fetch.History, error) {
	m.count("history", name+"@"+version)
	return nil, errors.New("memSource has no packuments")
}

// memSealed is a SealedStore in memory.
type memSealed struct {
	mu   sync.Mutex
	m    map[string][]byte
	hits int
}

func (s *memSealed) GetSealed(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[key]
	if ok {
		s.hits++
	}
	return b, ok
}

func (s *memSealed) PutSealed(key string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), data...)
	return nil
}

// refused is the error a fetch.Client gives for a registry that refuses
// connections.
func refused(id string) error {
	return fmt.Errorf("%s: %w", id, &url.Error{Op: "Get", URL: "https://registry.invalid/" + id,
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.OpError{Op: "connect", Err: syscall.ECONNREFUSED}}})
}

// TestRunFromMemory: the whole audit over a Source in memory. Each package
// gets its own verdict whatever the others do (a tampered signature, a
// registry-wide failure, a missing document); a registry-wide failure is
// one problem with its count; the verdicts go to the sealed store and a
// second run judges from it.
func TestRunFromMemory(t *testing.T) {
	ss, err := fakesigstore.New(fakesigstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	trust, err := verify.NewTrust(verify.TrustOptions{TrustedRoot: ss.TrustedRoot()})
	if err != nil {
		t.Fatal(err)
	}
	lf, _ := testLockfile(t, 1, 5) // att-000, plain-000 … plain-004
	cfg, err := fetch.LoadConfig(fetch.ConfigOptions{Registry: "https://registry.invalid/", Env: []string{"HOME=" + t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	src := &memSource{keys: ss.NpmKeys(), manifests: map[string]*fetch.Manifest{}, atts: map[string][]byte{}, errs: map[string]error{}, calls: map[string]int{}}
	for _, u := range lf.Entries {
		if u.Name == "" || u.Integrity == "" {
			continue
		}
		keyid, sig := ss.SignRegistry(0, u.Name, u.Version, u.Integrity)
		m := &fetch.Manifest{Name: u.Name, Version: u.Version, Integrity: u.Integrity, Registry: "https://registry.invalid/",
			Signatures: []fetch.Signature{{KeyID: keyid, Sig: sig}}}
		if strings.HasPrefix(u.Name, "att-") {
			body, err := ss.Attestations(fakesigstore.Attest{Name: u.Name, Version: u.Version, Integrity: u.Integrity})
			if err != nil {
				t.Fatal(err)
			}
			m.Attestations = &fetch.AttestationRef{URL: "https://registry.invalid/-/npm/v1/attestations/" + u.Name + "@" + u.Version, PredicateType: "https://slsa.dev/provenance/v1"}
			src.atts[u.Name+"@"+u.Version] = body
		}
		src.manifests[u.Name+"@"+u.Version] = m
	}
	// plain-001: a signature over other bytes; plain-002 and plain-003:
	// the registry refuses the connection; plain-004: no such version.
	src.manifests["plain-001@1.0.0"].Signatures[0].Sig = src.manifests["plain-000@1.0.0"].Signatures[0].Sig
	src.errs["plain-002@1.0.0"] = refused("plain-002/1.0.0")
	src.errs["plain-003@1.0.0"] = refused("plain-003/1.0.0")
	delete(src.manifests, "plain-004@1.0.0")

	sealed := &memSealed{m: map[string][]byte{}}
	opts := Options{Lockfile: lf, Config: cfg, Client: src, Sealed: sealed, Trust: trust, NoHistory: true}
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{"att-000": StatusVerified, "plain-000": StatusSigned, "plain-001": StatusInvalid,
		"plain-002": StatusError, "plain-003": StatusError, "plain-004": StatusError}
	for _, p := range res.Packages {
		if p.Status != want[p.Name] {
			t.Errorf("%s: %s (%s), want %s", p.Name, p.Status, p.Reason, want[p.Name])
		}
	}
	if len(res.Problems) != 1 || res.Problems[0].Packages != 2 || !strings.Contains(res.Problems[0].Message, "https://registry.invalid refused the connection") {
		t.Errorf("problems %+v", res.Problems)
	}
	if got := res.Summary; got.Verified != 1 || got.Signed != 1 || got.Invalid != 1 || got.Error != 3 || got.Checked != 2 {
		t.Errorf("summary %+v", got)
	}
	if n := src.calls["keys "]; n != 1 {
		t.Errorf("keys asked %d times, want once", n)
	}
	if n := src.calls["attestations att-000@1.0.0"]; n != 1 {
		t.Errorf("attestations asked %d times", n)
	}
	for k := range src.calls {
		if strings.HasPrefix(k, "history ") || strings.HasPrefix(k, "publishinfo ") {
			t.Errorf("asked %s, which a signature valid today and NoHistory do not need", k)
		}
	}
	if len(sealed.m) == 0 {
		t.Fatal("no verdict was sealed")
	}

	// A second run judges from the sealed verdicts instead of verifying
	// again (a verdict is bound to the documents and attestations it was made
	// from, which are fetched again) and agrees.
	sealed.hits = 0
	again, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range again.Packages {
		if p.Status != res.Packages[i].Status {
			t.Errorf("second run: %s %s, first %s", p.Name, p.Status, res.Packages[i].Status)
		}
	}
	if sealed.hits == 0 {
		t.Error("the second run used no sealed verdict")
	}
}
