package rig

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/lockfile"
)

// TestMemoryRealLockfiles audits the largest real lockfiles of testdata
// (1,307, 1,274 and 1,751 entries) against a registry shaped like npm's
// (rotated keys, a third attested, packuments of realistic size), cold,
// through the launcher, and bounds the peak RSS at 300 MB. (The memory
// tests of hostile input are cmd/provaudit's.)
func TestMemoryRealLockfiles(t *testing.T) {
	bin := buildProvaudit(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"real-projects/npm-cli-smoke-large-install", "real-projects/npm-cli-v10.9.0", "generated/web-app"} {
		t.Run(dir, func(t *testing.T) {
			path := filepath.Join("..", "..", "testdata", "lockfiles", dir, "package-lock.json")
			lf, err := lockfile.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Serve(context.Background(), ServeOptions{Lockfile: lf, Attested: 0.33})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tf, err := s.WriteTrust(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			r, err := RunProvaudit(context.Background(), RunOptions{
				Binary: bin, Launcher: self, Lockfile: path, Registry: s.Registry.URL(), Trust: tf,
				CacheDir: t.TempDir(), Home: t.TempDir(), Timeout: 5 * time.Minute,
			})
			if err != nil {
				t.Fatal(err)
			}
			peak := float64(r.MaxRSSKB) / 1024
			t.Logf("%s: %d entries, %d packages audited, exit %d, wall %s, CPU %s, peak RSS %.0f MB (launcher %d MB)", dir, len(lf.Entries), r.Summary.Audited, r.ExitCode, r.Wall.Round(time.Millisecond), r.CPU().Round(time.Millisecond), peak, r.RSSFloorKB/1024)
			if !r.Clean(s.Expect) {
				t.Fatalf("not clean: exit %d, %+v, want %+v\n%s\n%s", r.ExitCode, r.Summary, s.Expect, strings.Join(r.Unclean, "\n"), r.Stderr)
			}
			if peak > 300 {
				t.Errorf("peak RSS %.0f MB, want under 300 MB", peak)
			}
		})
	}
}
