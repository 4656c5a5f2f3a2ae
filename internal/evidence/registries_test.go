package evidence

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/fetch"
)

// config is the npm configuration of a project in dir (with an optional
// project .npmrc) for a person who passes --registry flag ("" = none) and
// has env.
func config(t *testing.T, flag, projectNpmrc string, env ...string) *fetch.Config {
	t.Helper()
	dir := t.TempDir()
	if projectNpmrc != "" {
		if err := os.WriteFile(filepath.Join(dir, ".npmrc"), []byte(projectNpmrc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := fetch.LoadConfig(fetch.ConfigOptions{
		ProjectDir:   dir,
		Registry:     flag,
		Env:          append([]string{"HOME=" + t.TempDir()}, env...),
		ResolvedURLs: []string{"https://lock.invalid/a/-/a-1.0.0.tgz"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestRegistriesOf(t *testing.T) {
	cfg := config(t, "https://r.invalid/", "@p:registry=https://p.invalid/\n", "npm_config_@s:registry=https://s.invalid/")
	rs := RegistriesOf(cfg, []string{"a", "@s/b", "@p/c", "@t/d"})
	want := Registries{Default: "https://r.invalid/", Used: []Registry{
		{URL: "https://p.invalid/", NamedBy: NamedByProject},
		{URL: "https://r.invalid/", NamedBy: NamedByUser, Source: "--registry"},
		{URL: "https://s.invalid/", NamedBy: NamedByUser, Source: "environment variable npm_config_@s:registry"},
	}}
	if rs.Default != want.Default || len(rs.Used) != len(want.Used) {
		t.Fatalf("got %+v, want %+v", rs, want)
	}
	for i, r := range rs.Used {
		w := want.Used[i]
		if r.URL != w.URL || r.NamedBy != w.NamedBy || w.Source != "" && r.Source != w.Source {
			t.Errorf("registry %d: %+v, want %+v", i, r, w)
		}
	}
	if err := (&Manifest{Registries: rs}).CheckRegistries(cfg, []string{"a", "@s/b", "@p/c"}); err != nil {
		t.Errorf("the same configuration: %v", err)
	}
}

// TestCheckRegistries refuses every registry decision that differs from the
// recording's: another default, a package from a registry not recorded, a
// registry named by the other side; another source of the same decision is
// accepted.
func TestCheckRegistries(t *testing.T) {
	names := []string{"a", "@s/b"}
	recorded := &Manifest{Registries: RegistriesOf(config(t, "https://r.invalid/", "", "npm_config_@s:registry=https://s.invalid/"), names)}
	projectNamed := &Manifest{Registries: RegistriesOf(config(t, "", "registry=https://r.invalid/\n@s:registry=https://s.invalid/\n"), names)}
	for _, c := range []struct {
		name string
		m    *Manifest
		cfg  *fetch.Config
		want string
	}{
		{"same, other source", recorded, config(t, "", "", "npm_config_registry=https://r.invalid/", "npm_config_@s:registry=https://s.invalid/"), ""},
		{"other default", recorded, config(t, "https://other.invalid/", "", "npm_config_@s:registry=https://s.invalid/"),
			"the bundle was recorded with the default registry https://r.invalid/ (named by the person running provaudit, in --registry, so the keys it lists are trusted); this audit's is https://other.invalid/ (named by the person running provaudit, in --registry"},
		{"default from the lockfile", recorded, config(t, "", "", "npm_config_@s:registry=https://s.invalid/"),
			"this audit's is https://lock.invalid/ (named only by the audited project, in the lockfile's resolved URLs"},
		{"scope not recorded", recorded, config(t, "https://r.invalid/", "", "npm_config_@s:registry=https://t.invalid/"),
			"@s/b comes from https://t.invalid/ in this audit (environment variable npm_config_@s:registry), a registry the bundle did not record (it recorded https://r.invalid/, https://s.invalid/)"},
		{"named by the project now", recorded, config(t, "https://r.invalid/", "@s:registry=https://s.invalid/\n"),
			"when the bundle was recorded, https://s.invalid/ was named by the person running provaudit, in environment variable npm_config_@s:registry, so the keys it lists are trusted; in this audit it is named only by the audited project"},
		{"named by the person now", projectNamed, config(t, "https://r.invalid/", "@s:registry=https://s.invalid/\n"),
			"when the bundle was recorded, https://r.invalid/ was named only by the audited project, in "},
		{"project named both times", projectNamed, config(t, "", "registry=https://r.invalid/\n@s:registry=https://s.invalid/\n"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.m.CheckRegistries(c.cfg, names)
			switch {
			case c.want == "" && err != nil:
				t.Fatal(err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			case c.want != "" && !strings.Contains(err.Error(), "an audit from an evidence bundle makes the registry decisions of its recording"):
				t.Fatalf("err = %v does not say why", err)
			}
		})
	}
}
