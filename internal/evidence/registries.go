package evidence

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/provaudit/provaudit/fetch"
)

// RegistriesOf describes the registry decisions cfg makes for the packages
// named: the default registry and every registry one of names maps to,
// each with who named it.
func RegistriesOf(cfg *fetch.Config, names []string) Registries {
	urls := []string{cfg.DefaultRegistry()}
	for _, n := range names {
		if u := cfg.RegistryFor(n); !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}
	sort.Strings(urls)
	rs := Registries{Default: cfg.DefaultRegistry(), Used: make([]Registry, 0, len(urls))}
	for _, u := range urls {
		o := cfg.RegistryOrigin(u)
		rs.Used = append(rs.Used, Registry{URL: u, NamedBy: namedBy(o), Source: o.Source})
	}
	return rs
}

func namedBy(o fetch.RegistryOrigin) string {
	if o.ByUser {
		return NamedByUser
	}
	return NamedByProject
}

// CheckRegistries checks that cfg, the configuration of an audit from the
// bundle, makes the registry decisions its recording made for the packages
// named: the same default registry, every package from a registry that was
// recorded, and every such registry named by the same side (the person
// running provaudit, whose naming a registry trusts the keys it lists, or
// only the audited project). The bundle cannot say who named a registry for
// the person auditing from it: that stays their decision, and a decision
// other than the recording's is refused rather than allowed to change the
// verdicts. Sources may differ (another machine has other files).
func (m *Manifest) CheckRegistries(cfg *fetch.Config, names []string) error {
	rec := map[string]Registry{}
	for _, r := range m.Registries.Used {
		rec[r.URL] = r
	}
	const must = "an audit from an evidence bundle makes the registry decisions of its recording"
	if d := cfg.DefaultRegistry(); d != m.Registries.Default {
		return fmt.Errorf("the bundle was recorded with the default registry %s (%s); this audit's is %s (%s): %s: %s",
			m.Registries.Default, describe(rec[m.Registries.Default]), d, describe(Registry{NamedBy: namedBy(cfg.RegistryOrigin(d)), Source: cfg.RegistryOrigin(d).Source}),
			must, advice(rec[m.Registries.Default], m.Registries.Default))
	}
	checked := map[string]bool{}
	for _, n := range append([]string{""}, names...) {
		u := cfg.DefaultRegistry()
		if n != "" {
			u = cfg.RegistryFor(n)
		}
		if checked[u] {
			continue
		}
		checked[u] = true
		r, ok := rec[u]
		if !ok {
			return fmt.Errorf("%s comes from %s in this audit (%s), a registry the bundle did not record (it recorded %s): %s",
				n, u, cfg.RegistryOrigin(u).Source, strings.Join(slices.Sorted(maps.Keys(rec)), ", "), must)
		}
		o := cfg.RegistryOrigin(u)
		if got := namedBy(o); got != r.NamedBy {
			here := Registry{NamedBy: got, Source: o.Source}
			return fmt.Errorf("when the bundle was recorded, %s was %s; in this audit it is %s: %s: %s",
				u, describe(r), describe(here), must, advice(r, u))
		}
	}
	return nil
}

func describe(r Registry) string {
	if r.NamedBy == NamedByUser {
		return "named by the person running provaudit, in " + r.Source + ", so the keys it lists are trusted"
	}
	return "named only by the audited project, in " + r.Source + ", so the keys it lists are not trusted"
}

func advice(r Registry, u string) string {
	if r.NamedBy == NamedByUser {
		return "name it yourself (--registry " + u + ", npm_config_registry or registry= in your user npmrc)"
	}
	return "audit from this bundle without naming " + u + " or another registry yourself, or record a new bundle the way you audit"
}
