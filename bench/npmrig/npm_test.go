package npmrig

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest"
)

// counts are the comparable fields of a Result.
type counts struct {
	ExitCode                                                            int
	TimedOut                                                            bool
	Audited, VerifiedSignatures, VerifiedAttestations, Invalid, Missing int
}

func countsOf(r *Result) counts {
	return counts{r.ExitCode, r.TimedOut, r.Audited, r.VerifiedSignatures, r.VerifiedAttestations, r.Invalid, r.Missing}
}

// packumentOf fetches the full packument of name from reg.
func packumentOf(t *testing.T, reg *registrytest.Registry, name string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, reg.URL()+strings.Replace(name, "/", "%2f", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET packument %s: %d %v\n%s", name, resp.StatusCode, err, body)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// serveEdited overrides the packument of name with edit applied to the dist
// object of version.
func serveEdited(t *testing.T, reg *registrytest.Registry, name, version string, edit func(dist map[string]any)) {
	t.Helper()
	doc := packumentOf(t, reg, name)
	versions, _ := doc["versions"].(map[string]any)
	v, _ := versions[version].(map[string]any)
	dist, _ := v["dist"].(map[string]any)
	if dist == nil {
		t.Fatalf("packument of %s has no dist for %s", name, version)
	}
	edit(dist)
	body, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	reg.Handle("/"+name, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	t.Cleanup(func() { reg.Handle("/"+name, nil) })
}

// TestNPMAuditSignatures runs the real npm against a fake registry with 20
// install locations (a third attested, all signed): everything verifies;
// then one packument carries a signature over another integrity (npm must
// report it invalid and exit 1), then one carries none (missing, exit 1).
func TestNPMAuditSignatures(t *testing.T) {
	needNPM(t)
	rootDeps, devDeps, pkgs := smallTree()
	lock := writeLockfile(t, t.TempDir(), rootDeps, devDeps, pkgs)
	reg, attested := registryFor(t, lock, 3)
	rig := prepare(t, reg, lock, 90*time.Second)
	if got := rig.Installed(); got != len(pkgs) {
		t.Fatalf("Installed() = %d, want %d", got, len(pkgs))
	}
	if attested == 0 || attested == len(pkgs) {
		t.Fatalf("attested %d of %d: want a fraction", attested, len(pkgs))
	}

	tests := []struct {
		name  string
		setup func(t *testing.T)
		want  counts
		// inOutput must appear in npm's output.
		inOutput string
	}{
		{
			name:     "all verified",
			setup:    func(*testing.T) {},
			want:     counts{ExitCode: 0, Audited: 20, VerifiedSignatures: 20, VerifiedAttestations: attested},
			inOutput: "20 packages have verified registry signatures",
		},
		{
			name: "tampered signature",
			setup: func(t *testing.T) {
				// A well-formed signature by the right key over another
				// integrity: only a real check catches it.
				keyid, sig := reg.Sigstore().SignRegistry(0, "right-pad", "1.0.1", fakeIntegrity("right-pad", "9.9.9"))
				serveEdited(t, reg, "right-pad", "1.0.1", func(dist map[string]any) {
					dist["signatures"] = []any{map[string]any{"keyid": keyid, "sig": sig}}
				})
			},
			want:     counts{ExitCode: 1, Audited: 20, VerifiedSignatures: 19, VerifiedAttestations: attested, Invalid: 1},
			inOutput: "right-pad@1.0.1",
		},
		{
			name: "missing signature",
			setup: func(t *testing.T) {
				serveEdited(t, reg, "@rig/util", "1.0.3", func(dist map[string]any) { delete(dist, "signatures") })
			},
			want:     counts{ExitCode: 1, Audited: 20, VerifiedSignatures: 19, VerifiedAttestations: attested, Missing: 1},
			inOutput: "@rig/util@1.0.3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup(t)
			rig.repo.resetRequests()
			keysBefore := reg.RequestsFor("/-/npm/v1/keys")
			res, err := rig.Run(context.Background())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := countsOf(res); got != tt.want {
				t.Fatalf("got %+v\nwant %+v\n%s", got, tt.want, res.Output)
			}
			if !strings.Contains(string(res.Output), tt.inOutput) {
				t.Errorf("output lacks %q:\n%s", tt.inOutput, res.Output)
			}
			if res.Wall <= 0 || res.User <= 0 || res.MaxRSSKB <= 0 {
				t.Errorf("measurements not taken: wall %v user %v maxrss %d", res.Wall, res.User, res.MaxRSSKB)
			}
			// The keys came from the rig's TUF repository, through the proxy,
			// not from the registry's keys endpoint.
			if n := reg.RequestsFor("/-/npm/v1/keys") - keysBefore; n != 0 {
				t.Errorf("npm fetched /-/npm/v1/keys %d times: the TUF keys target was not used\n%s", n, res.Output)
			}
			reqs := rig.repo.requestCounts()
			for _, p := range []string{"2.root.json", "timestamp.json", "1.snapshot.json", "1.targets.json"} {
				if reqs[p] == 0 {
					t.Errorf("npm did not fetch %s through the proxy (requests: %v)", p, reqs)
				}
			}
			// The targets were seeded, so none was downloaded.
			for p, n := range reqs {
				if strings.HasPrefix(p, "targets/") {
					t.Errorf("npm downloaded %s %d times although it was seeded", p, n)
				}
			}
			t.Logf("wall %v user %v sys %v maxrss %d KB", res.Wall, res.User, res.Sys, res.MaxRSSKB)
		})
	}
}
