package fetch

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// configFixture lays out project, user and global npmrc files.
type configFixture struct {
	project, user, global string // npmrc contents ("" = no file)
	registryFlag          string
	env                   []string
	resolved              []string
}

func (f configFixture) load(t *testing.T) (*Config, error) {
	t.Helper()
	root := t.TempDir()
	proj := filepath.Join(root, "proj")
	home := filepath.Join(root, "home")
	prefix := filepath.Join(root, "prefix")
	for _, d := range []string{proj, home, filepath.Join(prefix, "etc")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, content string) {
		if content == "" {
			return
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(proj, ".npmrc"), f.project)
	write(filepath.Join(home, ".npmrc"), f.user)
	write(filepath.Join(prefix, "etc", "npmrc"), f.global)
	env := append([]string{"HOME=" + home, "PREFIX=" + prefix}, f.env...)
	return LoadConfig(ConfigOptions{ProjectDir: proj, Registry: f.registryFlag, Env: env, ResolvedURLs: f.resolved})
}

func TestRegistryPrecedence(t *testing.T) {
	all := configFixture{
		registryFlag: "https://flag.invalid",
		env:          []string{"npm_config_registry=https://env.invalid/"},
		project:      "registry=https://project.invalid/\n",
		user:         "registry=https://user.invalid/\n",
		global:       "registry=https://global.invalid/\n",
		resolved:     []string{"https://lock.invalid/a/-/a-1.0.0.tgz"},
	}
	tests := []struct {
		name string
		drop func(*configFixture)
		want string
	}{
		{"flag wins", func(*configFixture) {}, "https://flag.invalid/"},
		{"env next", func(f *configFixture) { f.registryFlag = "" }, "https://env.invalid/"},
		{"upper-case env", func(f *configFixture) {
			f.registryFlag = ""
			f.env = []string{"NPM_CONFIG_REGISTRY=https://env-upper.invalid/"}
		}, "https://env-upper.invalid/"},
		{"project npmrc", func(f *configFixture) { f.registryFlag, f.env = "", nil }, "https://project.invalid/"},
		{"user npmrc", func(f *configFixture) { f.registryFlag, f.env, f.project = "", nil, "" }, "https://user.invalid/"},
		{"global npmrc", func(f *configFixture) { f.registryFlag, f.env, f.project, f.user = "", nil, "", "" }, "https://global.invalid/"},
		{"lockfile origin", func(f *configFixture) { f.registryFlag, f.env, f.project, f.user, f.global = "", nil, "", "", "" }, "https://lock.invalid/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := all
			tt.drop(&f)
			cfg, err := f.load(t)
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if got := cfg.DefaultRegistry(); got != tt.want {
				t.Errorf("DefaultRegistry = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUserAndGlobalConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	userrc := filepath.Join(dir, "custom-userrc")
	globalrc := filepath.Join(dir, "custom-globalrc")
	if err := os.WriteFile(userrc, []byte("@u:registry=https://u.invalid/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(globalrc, []byte("registry=https://g.invalid/\n@u:registry=https://ignored.invalid/\n@g:registry=https://gs.invalid\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(ConfigOptions{Env: []string{"NPM_CONFIG_USERCONFIG=" + userrc, "npm_config_globalconfig=" + globalrc, "HOME=" + t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.DefaultRegistry(); got != "https://g.invalid/" {
		t.Errorf("DefaultRegistry = %q", got)
	}
	if got := cfg.RegistryFor("@u/x"); got != "https://u.invalid/" {
		t.Errorf("@u = %q (user npmrc must beat global)", got)
	}
	if got := cfg.RegistryFor("@g/x"); got != "https://gs.invalid/" {
		t.Errorf("@g = %q", got)
	}
}

func TestNoRegistry(t *testing.T) {
	_, err := configFixture{resolved: []string{"git+ssh://git@host.invalid/x.git", "file:../x", "https://host.invalid/not-a-tarball"}}.load(t)
	if !errors.Is(err, ErrNoRegistry) {
		t.Fatalf("err = %v, want ErrNoRegistry", err)
	}
	for _, hint := range []string{"--registry", "npm_config_registry", ".npmrc"} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("error %q does not mention %s", err, hint)
		}
	}
}

func TestScopedRouting(t *testing.T) {
	cfg, err := configFixture{
		project: "registry=https://main.invalid/npm\n@corp:registry=https://corp.invalid/api/npm/repo\n",
		user:    "@other:registry=https://other.invalid/\n@corp:registry=https://user-corp.invalid/\n",
	}.load(t)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, want string }{
		{"lodash", "https://main.invalid/npm/"},
		{"@corp/lib", "https://corp.invalid/api/npm/repo/"},
		{"@other/lib", "https://other.invalid/"},
		{"@unknown/lib", "https://main.invalid/npm/"},
		{"@corp", "https://main.invalid/npm/"},
	}
	for _, tt := range tests {
		if got := cfg.RegistryFor(tt.name); got != tt.want {
			t.Errorf("RegistryFor(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	want := []string{"https://main.invalid/npm/", "https://corp.invalid/api/npm/repo/", "https://other.invalid/"}
	if got := cfg.Registries(); !reflect.DeepEqual(got, want) {
		t.Errorf("Registries = %q, want %q", got, want)
	}
}

func TestEnvExpansionInNpmrc(t *testing.T) {
	cfg, err := configFixture{
		project: "registry=https://${REG_HOST}/${REG_PATH?}\n//${REG_HOST}/:_authToken=${MY_TOKEN}\n",
		env:     []string{"REG_HOST=exp.invalid", "MY_TOKEN=tok-expanded"},
	}.load(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.DefaultRegistry(); got != "https://exp.invalid/" {
		t.Errorf("registry = %q", got)
	}
	h, ok := cfg.authFor(mustURL(t, "https://exp.invalid/x"))
	if !ok || string(h) != "Bearer tok-expanded" {
		t.Errorf("auth = %q, %v", string(h), ok)
	}
	_, err = configFixture{project: "registry=https://r.invalid/\n//r.invalid/:_authToken=${MISSING_TOKEN}\n"}.load(t)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), ".npmrc:2") || !strings.Contains(err.Error(), "MISSING_TOKEN") {
		t.Errorf("unset variable: err = %v, want ErrConfig naming the file, line and variable", err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		f       configFixture
		wantMsg string
	}{
		{"registry not a URL", configFixture{project: "registry=ftp://x.invalid/\n"}, ".npmrc:1: registry ftp://x.invalid/ is not an http(s) URL"},
		{"registry with query", configFixture{project: "registry=https://x.invalid/?a=b\n"}, "must not have a query"},
		{"scoped registry bad", configFixture{project: "registry=https://x.invalid/\n@s:registry=nope\n"}, ".npmrc:2"},
		{"bad flag", configFixture{registryFlag: "x.invalid"}, "--registry"},
		{"top-level token", configFixture{project: "registry=https://x.invalid/\n_authToken=abc\n"}, ".npmrc:2: _authToken must be scoped to a registry"},
		{"bad _auth", configFixture{project: "registry=https://x.invalid/\n//x.invalid/:_auth=!!!\n"}, "_auth is not base64"},
		{"bad _password", configFixture{project: "registry=https://x.invalid/\n//x.invalid/:username=u\n//x.invalid/:_password=!!!\n"}, "_password must be base64"},
		{"bad auth host", configFixture{project: "registry=https://x.invalid/\n//:_authToken=abc\n"}, "has no valid host"},
		{"bad strict-ssl", configFixture{project: "registry=https://x.invalid/\nstrict-ssl=maybe\n"}, "strict-ssl must be true or false"},
		{"missing cafile", configFixture{project: "registry=https://x.invalid/\ncafile=missing.pem\n"}, "cafile"},
		{"ca not PEM", configFixture{project: "registry=https://x.invalid/\nca=garbage\n"}, "no PEM certificate"},
		{"bad proxy", configFixture{project: "registry=https://x.invalid/\nproxy=ftp://p.invalid\n"}, "proxy scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.f.load(t)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "abc") && strings.Contains(tt.f.project, "=abc") {
				t.Errorf("error shows the credential: %q", err)
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	cfg, err := configFixture{
		project: strings.Join([]string{
			"registry=https://main.invalid/",
			"//main.invalid/:_authToken=main-token",
			"//main.invalid/private/:_authToken=private-token",
			"//main.invalid/private/deeper:_authToken=deeper-token",
			"//basic.invalid:8443/:_auth=dTpw",
			"//up.invalid/:username=alice",
			"//up.invalid/:_password=" + "c2VjcmV0", // "secret"
			"//tok-and-auth.invalid/:_auth=dTpw",
			"//tok-and-auth.invalid/:_authToken=wins",
			"//half.invalid/:username=bob",
		}, "\n"),
		user: "//main.invalid/:_authToken=user-token-loses\n",
	}.load(t)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		want string // "" = no Authorization
	}{
		{"https://main.invalid/lodash", "Bearer main-token"},
		{"https://main.invalid/", "Bearer main-token"},
		{"https://MAIN.invalid/x", "Bearer main-token"},
		{"https://main.invalid:443/x", "Bearer main-token"},
		{"http://main.invalid/x", "Bearer main-token"},
		{"https://main.invalid:8443/x", ""},
		{"https://main.invalid/private/x", "Bearer private-token"},
		{"https://main.invalid/private", "Bearer private-token"},
		{"https://main.invalid/privateer/x", "Bearer main-token"},
		{"https://main.invalid/private/deeper/x", "Bearer deeper-token"},
		{"https://main.invalid/private/deeperx", "Bearer private-token"},
		{"https://sub.main.invalid/x", ""},
		{"https://main.invalid.evil.invalid/x", ""},
		{"https://basic.invalid:8443/x", "Basic dTpw"},
		{"https://basic.invalid/x", ""},
		{"https://up.invalid/x", "Basic YWxpY2U6c2VjcmV0"},
		{"https://tok-and-auth.invalid/x", "Bearer wins"},
		{"https://half.invalid/x", ""},
		{"https://other.invalid/x", ""},
	}
	for _, tt := range tests {
		h, ok := cfg.authFor(mustURL(t, tt.url))
		if got := string(h); got != tt.want || ok != (tt.want != "") {
			t.Errorf("authFor(%s) = %q, %v; want %q", tt.url, got, ok, tt.want)
		}
	}
}

func TestRegistryURLCredentialsMovedToAuth(t *testing.T) {
	cfg, err := configFixture{project: "registry=https://bob:hunter2@creds.invalid/repo\n"}.load(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.DefaultRegistry(); got != "https://creds.invalid/repo/" {
		t.Errorf("registry = %q, want credentials removed", got)
	}
	h, ok := cfg.authFor(mustURL(t, "https://creds.invalid/repo/x"))
	if !ok || string(h) != "Basic Ym9iOmh1bnRlcjI=" {
		t.Errorf("auth = %q %v", string(h), ok)
	}
	if strings.Contains(cfg.String(), "hunter2") {
		t.Errorf("String shows the password:\n%s", cfg)
	}
}

func TestConfigStringRedacts(t *testing.T) {
	const tok = "npm_SECRETTOKEN123"
	cfg, err := configFixture{
		project: "registry=https://main.invalid/\n//main.invalid/:_authToken=" + tok + "\n" +
			"//b.invalid/:_auth=" + "dXNlcjpTRUNSRVRQQVNT" + "\n" +
			"https-proxy=http://puser:SECRETPROXYPASS@proxy.invalid:3128\nstrict-ssl=false\n",
	}.load(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", *cfg), fmt.Sprintf("%+v", *cfg),
		fmt.Sprintf("%d", cfg), fmt.Sprintf("%x", *cfg), fmt.Sprintf("%#v", cfg.creds), fmt.Sprintf("%+v", cfg.creds)} {
		for _, secret := range []string{tok, "dXNlcjpTRUNSRVRQQVNT", "SECRETPROXYPASS"} {
			if strings.Contains(s, secret) {
				t.Errorf("printed configuration contains %q:\n%s", secret, s)
			}
		}
	}
	s := cfg.String()
	for _, want := range []string{"registry https://main.invalid/", "auth //main.invalid/: bearer token [redacted]", "strict-ssl false", "proxy.invalid:3128", "project npmrc"} {
		if !strings.Contains(s, want) {
			t.Errorf("String lacks %q:\n%s", want, s)
		}
	}
}

func TestInferRegistry(t *testing.T) {
	tests := []struct {
		name     string
		resolved []string
		want     string
	}{
		{"none", nil, ""},
		{"plain", []string{"https://r.invalid/lodash/-/lodash-4.17.21.tgz"}, "https://r.invalid/"},
		{"scoped", []string{"https://r.invalid/@babel/core/-/core-7.0.0.tgz"}, "https://r.invalid/"},
		{"scoped escaped", []string{"https://r.invalid/@babel%2fcore/-/core-7.0.0.tgz"}, "https://r.invalid/"},
		{"path prefix", []string{"https://art.invalid/api/npm/npm-remote/lodash/-/lodash-4.17.21.tgz"}, "https://art.invalid/api/npm/npm-remote/"},
		{"path prefix scoped", []string{"https://art.invalid/api/npm/repo/@s/p/-/p-1.0.0.tgz"}, "https://art.invalid/api/npm/repo/"},
		{"credentials dropped", []string{"https://u:p@r.invalid/a/-/a-1.0.0.tgz"}, "https://r.invalid/"},
		{"most common", []string{
			"https://a.invalid/x/-/x-1.0.0.tgz", "https://b.invalid/x/-/x-1.0.0.tgz", "https://b.invalid/y/-/y-2.0.0.tgz",
		}, "https://b.invalid/"},
		{"tie alphabetical", []string{"https://b.invalid/x/-/x-1.0.0.tgz", "https://a.invalid/x/-/x-1.0.0.tgz"}, "https://a.invalid/"},
		{"non-registry ignored", []string{
			"git+https://github.invalid/a/b.git", "file:vendor/x.tgz", "https://cdn.invalid/files/x.tgz",
			"https://r.invalid/name/-/other-1.0.0.tgz", "https://r.invalid/a/-/sub/a-1.0.0.tgz", "ftp://r.invalid/a/-/a-1.tgz",
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inferRegistry(tt.resolved); got != tt.want {
				t.Errorf("inferRegistry = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCAFileRelativeToNpmrc(t *testing.T) {
	srv := newFakeRegistry(t, withTLS())
	dir := t.TempDir()
	writeCA(t, filepath.Join(dir, "certs", "ca.pem"), srv)
	if err := os.WriteFile(filepath.Join(dir, ".npmrc"), []byte("registry="+srv.URL()+"\ncafile=certs/ca.pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(ConfigOptions{ProjectDir: dir, Env: []string{"HOME=" + t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.rootCAs == nil || cfg.caCount != 1 {
		t.Fatalf("cafile not loaded: %s", cfg)
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
