package lockfile

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	lockA = `{"name": "from-package-lock", "lockfileVersion": 3, "packages": {"node_modules/a": {"version": "1.0.0"}}}`
	lockB = `{"name": "from-shrinkwrap", "lockfileVersion": 3, "packages": {"node_modules/b": {"version": "1.0.0"}}}`
)

func TestLoadDirectory(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		wantFile string // base name of the file read
		wantName string
	}{
		{"package-lock only", map[string]string{"package-lock.json": lockA}, "package-lock.json", "from-package-lock"},
		{"shrinkwrap only", map[string]string{"npm-shrinkwrap.json": lockB}, "npm-shrinkwrap.json", "from-shrinkwrap"},
		{"both: shrinkwrap wins, as in npm", map[string]string{"package-lock.json": lockA, "npm-shrinkwrap.json": lockB}, "npm-shrinkwrap.json", "from-shrinkwrap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, filepath.Join(dir, name), content)
			}
			lf, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tt.wantFile); lf.Path != want || lf.Name != tt.wantName {
				t.Errorf("read %s (name %q), want %s (name %q)", lf.Path, lf.Name, want, tt.wantName)
			}
			// Nothing given is modified.
			for name, content := range tt.files {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || string(got) != content {
					t.Errorf("%s changed or unreadable: %v", name, err)
				}
			}
		})
	}
}

func TestLoadFixtureDirectories(t *testing.T) {
	lf, err := Load(fixtureRoot + "/osv-scalibr/packagelockjson/both")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(lf.Path) != "npm-shrinkwrap.json" {
		t.Errorf("read %s, want the npm-shrinkwrap.json", lf.Path)
	}
	lf, err = Load(fixtureRoot + "/osv-scalibr/packagelockjson/package-lock-only/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(lf.Entries) != 2 {
		t.Errorf("%d entries, want 2", len(lf.Entries))
	}
}

func TestLoadNotFound(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	for _, want := range []string{dir, "npm-shrinkwrap.json", "package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock", "npm install --package-lock-only"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	missing := filepath.Join(dir, "nope", "package-lock.json")
	if _, err := Load(missing); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), missing) ||
		!strings.Contains(err.Error(), "npm install --package-lock-only") {
		t.Errorf("missing file: got %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	// A directory where the lockfile should be.
	if err := os.MkdirAll(filepath.Join(dir, "npm-shrinkwrap.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("got %v, want an error saying the shrinkwrap is a directory", err)
	}

	// Errors from Parse name the file found.
	dir = t.TempDir()
	writeFile(t, filepath.Join(dir, "package-lock.json"), "{")
	_, err := Load(dir)
	if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), filepath.Join(dir, "package-lock.json")+":1:2:") {
		t.Errorf("got %v, want a syntax error naming the file", err)
	}

	// The fixtures that must fail.
	for file, want := range map[string]error{
		"npm-cli-arborist/ancient-lockfile-invalid/package-lock.json": ErrMalformed,
		"npm-cli-arborist/workspace3-packages-a/npm-shrinkwrap.json":  ErrSyntax,
		"osv-scalibr/packagelockjson/not-json.txt":                    ErrSyntax,
		"osv-scalibr/packagelockjson/null.v2.jsontest":                ErrMalformed,
	} {
		path := fixtureRoot + "/" + file
		_, err := Load(path)
		if !errors.Is(err, want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got %v, want %v naming the file", file, err, want)
		}
		if want == ErrSyntax && !strings.Contains(err.Error(), path+":1:") {
			t.Errorf("%s: %v does not give line:col", file, err)
		}
	}
}

// TestParseRecordsDigest: the digest is of exactly the bytes parsed, so
// that a signed summary names the lockfile that was audited.
func TestParseRecordsDigest(t *testing.T) {
	data := []byte(`{"lockfileVersion": 3, "packages": {"": {"name": "x"}}}`)
	lf, err := Parse("package-lock.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if lf.SHA256 != sha256.Sum256(data) {
		t.Errorf("SHA256 = %x, want the digest of the bytes parsed", lf.SHA256)
	}
	other, err := Parse("package-lock.json", append(data, '\n'))
	if err != nil {
		t.Fatal(err)
	}
	if other.SHA256 == lf.SHA256 {
		t.Error("a different file has the same digest")
	}
}
