package npmrig

import (
	"context"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/registrytest"
)

// fakeNPM writes a shell script standing in for npm: it records its
// arguments, environment, working directory and the npm cache listing into
// dir, touches a stale file in the cache, prints dir/out and exits with the
// status in dir/code. With sleep set it instead starts a background sleep,
// records its pid and waits.
func fakeNPM(t *testing.T, sleep bool) (npm, dir string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in npm is a shell script")
	}
	dir = t.TempDir()
	body := `#!/bin/sh
D='` + dir + `'
printf '%s\n' "$@" > "$D/args"
env > "$D/env"
pwd > "$D/pwd"
cache=""; prev=""
for a in "$@"; do [ "$prev" = "--cache" ] && cache="$a"; prev="$a"; done
(cd "$cache" && find . | sort) > "$D/cache"
touch "$cache/stale"
`
	if sleep {
		body += "sleep 60 &\necho $! > \"$D/child\"\nwait\n"
	} else {
		body += "cat \"$D/out\"\nexit $(cat \"$D/code\")\n"
	}
	npm = filepath.Join(dir, "npm")
	if err := os.WriteFile(npm, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return npm, dir
}

// trustFor returns valid trust material from a fake Sigstore.
func trustFor(t *testing.T) (reg *registrytest.Registry) {
	t.Helper()
	reg = registrytest.New(registrytest.Options{})
	t.Cleanup(reg.Close)
	return reg
}

func fakeRig(t *testing.T, npm string, timeout time.Duration) (*Rig, *registrytest.Registry) {
	t.Helper()
	reg := trustFor(t)
	rootDeps, devDeps, pkgs := smallTree()
	lock := writeLockfile(t, t.TempDir(), rootDeps, devDeps, pkgs)
	rig, err := Prepare(context.Background(), Options{
		RegistryURL: reg.URL(),
		Lockfile:    lock,
		TrustedRoot: reg.Sigstore().TrustedRoot(),
		KeysTUF:     reg.Sigstore().NpmKeysTUF(),
		WorkDir:     t.TempDir(),
		NPM:         npm,
		Timeout:     timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rig.Close(); err != nil {
			t.Error(err)
		}
	})
	return rig, reg
}

func writeFile(t *testing.T, file, data string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// TestRunCommandAndEnvironment checks what npm is started with: its
// arguments, a private environment with only the proxy settings the rig
// gives it, the project as working directory and a cold, seeded cache.
func TestRunCommandAndEnvironment(t *testing.T) {
	// The caller's npm settings and proxies must not reach npm.
	t.Setenv("npm_config_registry", "http://leak.invalid/")
	t.Setenv("NPM_CONFIG_CACHE", "/leak")
	t.Setenv("NODE_OPTIONS", "--require /leak.js")
	t.Setenv("HTTPS_PROXY", "http://leak.invalid:1")
	t.Setenv("http_proxy", "http://leak.invalid:1")
	npm, dir := fakeNPM(t, false)
	writeFile(t, filepath.Join(dir, "out"), outVerified)
	writeFile(t, filepath.Join(dir, "code"), "0")
	rig, reg := fakeRig(t, npm, time.Minute)

	for run := range 2 {
		res, err := rig.Run(context.Background())
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if got, want := countsOf(res), (counts{Audited: 20, VerifiedSignatures: 20, VerifiedAttestations: 7}); got != want {
			t.Fatalf("run %d: got %+v, want %+v", run, got, want)
		}
		if string(res.Output) != outVerified {
			t.Errorf("Output = %q", res.Output)
		}
		if res.Wall <= 0 || res.MaxRSSKB <= 0 {
			t.Errorf("not measured: wall %v maxrss %d", res.Wall, res.MaxRSSKB)
		}

		args := readLines(t, filepath.Join(dir, "args"))
		wantArgs := []string{"audit", "signatures", "--registry", reg.URL(), "--cache", rig.cacheDir,
			"--userconfig", rig.npmrc, "--globalconfig", rig.globalrc}
		if len(args) < len(wantArgs) || strings.Join(args[:len(wantArgs)], " ") != strings.Join(wantArgs, " ") {
			t.Errorf("args = %q, want them to start with %q", args, wantArgs)
		}
		env := readLines(t, filepath.Join(dir, "env"))
		for _, want := range []string{
			"https_proxy=" + rig.proxy.URL(),
			"no_proxy=127.0.0.1,localhost",
			"NODE_EXTRA_CA_CERTS=" + rig.caPEM,
			"HOME=" + rig.home,
		} {
			if !contains(env, want) {
				t.Errorf("environment lacks %s", want)
			}
		}
		for _, e := range env {
			if strings.Contains(e, "leak") {
				t.Errorf("the caller's environment leaked into npm's: %s", e)
			}
		}
		if pwd := readLines(t, filepath.Join(dir, "pwd")); pwd[0] != rig.project {
			t.Errorf("working directory %s, want %s", pwd[0], rig.project)
		}
		cache := readLines(t, filepath.Join(dir, "cache"))
		_, keysTarget, err := checkRegistryURL(reg.URL())
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"./_tuf/" + TUFHost + "/root.json",
			"./_tuf/" + TUFHost + "/targets/trusted_root.json",
			"./_tuf/" + TUFHost + "/targets/" + encodeURIComponent(keysTarget),
		} {
			if !contains(cache, want) {
				t.Errorf("cache lacks %s: %q", want, cache)
			}
		}
		if contains(cache, "./stale") {
			t.Errorf("run %d: the cache was not emptied", run)
		}
	}
	for _, f := range []string{rig.npmrc, rig.globalrc} {
		if b, err := os.ReadFile(f); err != nil || len(b) != 0 {
			t.Errorf("%s: %q %v, want an empty npmrc", f, b, err)
		}
	}
	b, err := os.ReadFile(rig.caPEM)
	if err != nil {
		t.Fatal(err)
	}
	if blk, _ := pem.Decode(b); blk == nil || blk.Type != "CERTIFICATE" {
		t.Errorf("%s is not a PEM certificate", rig.caPEM)
	}
}

// TestRunOutcomes checks how npm's output and exit status become a Result
// or an error: a summary that contradicts the exit status, or no summary at
// all, is an error, never a Result that looks like a clean audit.
func TestRunOutcomes(t *testing.T) {
	npm, dir := fakeNPM(t, false)
	rig, _ := fakeRig(t, npm, time.Minute)
	tests := []struct {
		name    string
		out     string
		code    int
		want    counts
		wantErr error
	}{
		{"verified", outVerified, 0, counts{Audited: 20, VerifiedSignatures: 20, VerifiedAttestations: 7}, nil},
		{"findings", outInvalid, 1, counts{ExitCode: 1, Audited: 386, VerifiedSignatures: 383, VerifiedAttestations: 120, Invalid: 2, Missing: 1}, nil},
		{"findings but exit 0", outInvalid, 0, counts{}, ErrRun},
		{"no findings but exit 1", outVerified, 1, counts{}, ErrRun},
		{"no findings but exit 2", outVerified, 2, counts{}, ErrRun},
		{"npm error", "npm error code E404\nnpm error 404 Not Found - GET http://127.0.0.1:1/a\n", 1, counts{}, ErrOutput},
		{"nothing printed, exit 0", "", 0, counts{}, ErrOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeFile(t, filepath.Join(dir, "out"), tt.out)
			writeFile(t, filepath.Join(dir, "code"), strconv.Itoa(tt.code))
			res, err := rig.Run(context.Background())
			if res == nil {
				t.Fatalf("no Result (err %v)", err)
			}
			if res.ExitCode != tt.code || string(res.Output) != tt.out {
				t.Errorf("exit %d output %q, want %d %q", res.ExitCode, res.Output, tt.code, tt.out)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrRun) {
					t.Fatalf("err = %v, want %v (and ErrRun)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := countsOf(res); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// processGone reports whether pid has exited (or is a zombie nobody reaps).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) STATE ...
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// TestRunTimeout checks that a run past Options.Timeout is reported as
// TimedOut and that npm's whole process group is killed.
func TestRunTimeout(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to watch the killed process")
	}
	npm, dir := fakeNPM(t, true)
	rig, _ := fakeRig(t, npm, 300*time.Millisecond)
	res, err := rig.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.TimedOut || res.ExitCode != -1 {
		t.Fatalf("TimedOut %v exit %d, want a killed, timed-out run", res.TimedOut, res.ExitCode)
	}
	child, err := strconv.Atoi(readLines(t, filepath.Join(dir, "child"))[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; !processGone(child); i++ {
		if i == 100 {
			t.Fatalf("npm's child %d survived the timeout", child)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRunCancelled checks that cancelling the context kills npm and is an
// error, not a timeout.
func TestRunCancelled(t *testing.T) {
	npm, _ := fakeNPM(t, true)
	rig, _ := fakeRig(t, npm, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := rig.Run(ctx)
	if !errors.Is(err, ErrRun) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrRun wrapping the context's error", err)
	}
	if res == nil || res.TimedOut {
		t.Fatalf("res = %+v, want a Result that is not TimedOut", res)
	}
	cancelled, stop := context.WithCancel(context.Background())
	stop()
	if _, err := rig.Run(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a cancelled context: %v", err)
	}
}

func TestClose(t *testing.T) {
	npm, _ := fakeNPM(t, false)
	rig, _ := fakeRig(t, npm, time.Minute)
	dir := rig.Dir()
	if _, err := os.Stat(filepath.Join(dir, "project", "node_modules", ".package-lock.json")); err != nil {
		t.Fatal(err)
	}
	if err := rig.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rig.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Close left %s: %v", dir, err)
	}
	if _, err := rig.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v, want ErrClosed", err)
	}
}

func TestPrepareRejects(t *testing.T) {
	npm, _ := fakeNPM(t, false)
	reg := trustFor(t)
	rootDeps, devDeps, pkgs := smallTree()
	lock := writeLockfile(t, t.TempDir(), rootDeps, devDeps, pkgs)
	good := Options{
		RegistryURL: reg.URL(),
		Lockfile:    lock,
		TrustedRoot: reg.Sigstore().TrustedRoot(),
		KeysTUF:     reg.Sigstore().NpmKeysTUF(),
		WorkDir:     t.TempDir(),
		NPM:         npm,
	}
	tests := []struct {
		name string
		edit func(o *Options)
		want error
	}{
		{"no registry", func(o *Options) { o.RegistryURL = "" }, ErrOptions},
		{"https registry", func(o *Options) { o.RegistryURL = "https://127.0.0.1:1/" }, ErrOptions},
		{"remote registry", func(o *Options) { o.RegistryURL = "http://registry.invalid/" }, ErrOptions},
		{"private address", func(o *Options) { o.RegistryURL = "http://10.0.0.1:4873/" }, ErrOptions},
		{"IPv6 loopback", func(o *Options) { o.RegistryURL = "http://[::1]:4873/" }, ErrOptions},
		{"user info", func(o *Options) { o.RegistryURL = "http://u:p@127.0.0.1:1/" }, ErrOptions},
		{"query", func(o *Options) { o.RegistryURL = "http://127.0.0.1:1/?a=b" }, ErrOptions},
		{"empty port", func(o *Options) { o.RegistryURL = "http://127.0.0.1:/" }, ErrOptions},
		{"not a URL", func(o *Options) { o.RegistryURL = "http://127.0.0.1:%zz/" }, ErrOptions},
		{"no lockfile", func(o *Options) { o.Lockfile = "" }, ErrOptions},
		{"missing lockfile", func(o *Options) { o.Lockfile = filepath.Join(t.TempDir(), "package-lock.json") }, ErrLockfile},
		{"no work dir", func(o *Options) { o.WorkDir = "" }, ErrOptions},
		{"negative timeout", func(o *Options) { o.Timeout = -time.Second }, ErrOptions},
		{"no trusted root", func(o *Options) { o.TrustedRoot = nil }, ErrTrust},
		{"trusted root not JSON", func(o *Options) { o.TrustedRoot = []byte("{") }, ErrTrust},
		{"trusted root of another kind", func(o *Options) {
			o.TrustedRoot = []byte(`{"mediaType":"application/json","tlogs":[{}],"certificateAuthorities":[{}]}`)
		}, ErrTrust},
		{"trusted root without logs", func(o *Options) {
			o.TrustedRoot = []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","certificateAuthorities":[{}]}`)
		}, ErrTrust},
		{"no keys", func(o *Options) { o.KeysTUF = nil }, ErrTrust},
		{"keys not JSON", func(o *Options) { o.KeysTUF = []byte("[") }, ErrTrust},
		{"empty key list", func(o *Options) { o.KeysTUF = []byte(`{"keys":[]}`) }, ErrTrust},
		{"keys in the endpoint form", func(o *Options) { o.KeysTUF = reg.Sigstore().NpmKeys() }, ErrTrust},
		{"key without rawBytes", func(o *Options) { o.KeysTUF = []byte(`{"keys":[{"keyId":"k","publicKey":{"validFor":{}}}]}`) }, ErrTrust},
		{"key without validFor", func(o *Options) { o.KeysTUF = []byte(`{"keys":[{"keyId":"k","publicKey":{"rawBytes":"AA=="}}]}`) }, ErrTrust},
		{"npm missing on PATH", func(o *Options) { o.NPM = "npmrig-no-such-npm" }, ErrOptions},
		{"npm path missing", func(o *Options) { o.NPM = filepath.Join(t.TempDir(), "npm") }, ErrOptions},
		{"npm is a directory", func(o *Options) { o.NPM = t.TempDir() + "/" }, ErrOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.edit(&o)
			rig, err := Prepare(context.Background(), o)
			if !errors.Is(err, tt.want) {
				if rig != nil {
					_ = rig.Close()
				}
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// The good options do work, and leave nothing behind once closed.
	rig, err := Prepare(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(good.WorkDir); len(left) != 0 {
		t.Errorf("WorkDir holds %d entries after Close", len(left))
	}
}

func TestCheckRegistryURL(t *testing.T) {
	tests := []struct {
		raw, registry, target string
	}{
		{"http://127.0.0.1:4873/", "http://127.0.0.1:4873/", "127.0.0.1:4873/keys.json"},
		{"http://127.0.0.1:4873", "http://127.0.0.1:4873/", "127.0.0.1:4873/keys.json"},
		{"http://127.0.0.1:80/", "http://127.0.0.1:80/", "127.0.0.1/keys.json"},
		{"http://127.0.0.1/", "http://127.0.0.1/", "127.0.0.1/keys.json"},
		{"http://LOCALHOST:5000/npm", "http://LOCALHOST:5000/npm/", "localhost:5000/npm/keys.json"},
		{"http://localhost:5000/a/b/", "http://localhost:5000/a/b/", "localhost:5000/a/b/keys.json"},
	}
	for _, tt := range tests {
		registry, target, err := checkRegistryURL(tt.raw)
		if err != nil {
			t.Errorf("%s: %v", tt.raw, err)
			continue
		}
		if registry != tt.registry || target != tt.target {
			t.Errorf("%s: %s %s, want %s %s", tt.raw, registry, target, tt.registry, tt.target)
		}
	}
}

func TestEncodeURIComponent(t *testing.T) {
	tests := map[string]string{
		"trusted_root.json":            "trusted_root.json",
		"127.0.0.1:4873/keys.json":     "127.0.0.1%3A4873%2Fkeys.json",
		TUFHost:                        TUFHost,
		"a b+c&d=e?f#g@h,i;j$k":        "a%20b%2Bc%26d%3De%3Ff%23g%40h%2Ci%3Bj%24k",
		"-_.!~*'()":                    "-_.!~*'()",
		"é":                            "%C3%A9",
		"localhost:5000/npm/keys.json": "localhost%3A5000%2Fnpm%2Fkeys.json",
	}
	for in, want := range tests {
		if got := encodeURIComponent(in); got != want {
			t.Errorf("encodeURIComponent(%q) = %q, want %q", in, got, want)
		}
	}
}
