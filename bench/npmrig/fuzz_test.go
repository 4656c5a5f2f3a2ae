package npmrig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseOutput(f *testing.F) {
	for _, s := range []string{outVerified, outInvalid, outPlural, outOne, "", "audited 0 package in 0s\n",
		"npm error code E404\n", "audited 2 packages in 0s\r\n2 packages have \x1b[1mverified\x1b[22m registry signatures\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		s, err := parseOutput(out)
		if err != nil {
			if s != (summary{}) {
				t.Fatalf("error %v with a non-zero summary %+v", err, s)
			}
			return
		}
		if !strings.Contains(string(out), "audited ") {
			t.Fatalf("summary %+v from output without an audited line", s)
		}
		for _, n := range []int{s.signatures, s.attestations, s.missing, s.invalidSignatures + s.invalidAttestations} {
			if n < 0 || n > s.audited {
				t.Fatalf("inconsistent summary accepted: %+v", s)
			}
		}
	})
}

func FuzzParseLockfile(f *testing.F) {
	f.Add([]byte(workspaceLock))
	f.Add([]byte(`{"lockfileVersion":2,"packages":{"":{},"node_modules/a":{"version":"1.0.0"}}}`))
	f.Add([]byte(`{"lockfileVersion":3,"packages":{"node_modules/@s/a":{"name":"b"},"node_modules/x":{"link":true,"resolved":"p/x"}}}`))
	f.Add([]byte(`{"lockfileVersion":3,"packages":{"node_modules/../a":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := parseLockfile("fuzz.json", data)
		if err != nil {
			return
		}
		if len(tree.entries) > 200 {
			return // laying out is checked on small trees only
		}
		for _, e := range tree.entries {
			if _, err := checkEntryPath(e.path); err != nil {
				t.Fatalf("accepted entry %q: %v", e.path, err)
			}
			if e.link != "" {
				if _, err := checkRelPath(e.link); err != nil {
					t.Fatalf("accepted link target %q: %v", e.link, err)
				}
			}
		}
		base := t.TempDir()
		project := filepath.Join(base, "project")
		if err := os.Mkdir(project, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := tree.layout(project, data); err != nil {
			t.Fatalf("a lockfile that parsed cannot be laid out: %v", err)
		}
		// Nothing was written beside the project.
		if left, err := os.ReadDir(base); err != nil || len(left) != 1 {
			t.Fatalf("layout wrote outside the project: %v %v", left, err)
		}
	})
}

func FuzzCheckRegistryURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:4873/", "http://localhost/npm", "https://127.0.0.1/", "http://127.0.0.1:80/a%2fb/", "http://127.0.0.1:1/../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		registry, target, err := checkRegistryURL(raw)
		if err != nil {
			return
		}
		lower := strings.ToLower(registry)
		if !strings.HasPrefix(lower, "http://127.0.0.1") && !strings.HasPrefix(lower, "http://localhost") {
			t.Fatalf("%q accepted as %q: not loopback", raw, registry)
		}
		if !strings.HasSuffix(registry, "/") || !strings.HasSuffix(target, "/keys.json") {
			t.Fatalf("%q: registry %q target %q", raw, registry, target)
		}
		if err := checkTargetName(target); err != nil {
			t.Fatalf("%q: target %q: %v", raw, target, err)
		}
		// The normalized form is accepted again and means the same.
		r2, t2, err := checkRegistryURL(registry)
		if err != nil || r2 != registry || t2 != target {
			t.Fatalf("%q -> %q %q, then %q %q %v", raw, registry, target, r2, t2, err)
		}
	})
}
