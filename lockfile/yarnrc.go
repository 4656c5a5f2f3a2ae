package lockfile

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/provaudit/provaudit/internal/localfile"
)

// yarnrcName is yarn berry's project configuration file.
const yarnrcName = ".yarnrc.yml"

// maxYarnrcSize bounds .yarnrc.yml, a short file.
const maxYarnrcSize = 1 << 20

// applyYarnrc gives the registry entries of a yarn berry lockfile whose
// resolution records no tarball URL the URL yarn fetches them from when
// the project's .yarnrc.yml (beside the lockfile) names a registry:
// npmRegistryServer, or npmScopes.<scope>.npmRegistryServer for a scoped
// package. The lockfile pins no integrity, so what yarn installs from a
// registry other than the one the audit checks is bound to nothing the
// audit verified; an audit says so for a Resolved outside its registry.
// Without such a setting yarn fetches from its default registry, a mirror
// of npm's, and Resolved stays empty.
func applyYarnrc(lf *Lockfile, dir string) error {
	file := filepath.Join(dir, yarnrcName)
	data, err := localfile.Read(file, maxYarnrcSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	servers, err := yarnrcServers(file, data)
	if err != nil || len(servers) == 0 {
		return err
	}
	for i := range lf.Entries {
		e := &lf.Entries[i]
		if e.Kind != KindRegistry || e.Resolved != "" {
			continue
		}
		server := servers[""]
		if scope, _, ok := strings.Cut(strings.TrimPrefix(e.Name, "@"), "/"); ok && strings.HasPrefix(e.Name, "@") && servers[scope] != "" {
			server = servers[scope]
		}
		if server != "" {
			e.Resolved = bunTarball(server, e.Name, e.Version)
		}
	}
	return nil
}

// yarnrcServers returns the registries a .yarnrc.yml names: "" for
// npmRegistryServer, a scope (without "@") for npmScopes.
func yarnrcServers(file string, data []byte) (map[string]string, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, nil
	}
	root, err := decodeYAML(file, data, "yarn configuration")
	if err != nil {
		return nil, err
	}
	errs := fileErrors{file: file}
	out := map[string]string{}
	// server records the registry of scope ("" for all) that n names.
	server := func(scope string, n *yaml.Node, what string) {
		s, problem := scalar(n, what)
		switch {
		case problem != "":
			errs.add(n.Line, "%s", problem)
		case s != "" && !isHTTP(s):
			errs.add(n.Line, "%s %q is not an http(s) URL", what, clip(s))
		default:
			out[scope] = s
		}
	}
	kv, problem := mapping(root, "the configuration")
	if problem != "" {
		errs.add(root.Line, "%s", problem)
	}
	for i := 0; i < len(kv); i += 2 {
		switch kv[i].Value {
		case "npmRegistryServer":
			server("", kv[i+1], "npmRegistryServer")
		case "npmScopes":
			scopes, problem := mapping(kv[i+1], "npmScopes")
			if problem != "" {
				errs.add(kv[i+1].Line, "%s", problem)
				continue
			}
			for j := 0; j < len(scopes); j += 2 {
				scope := scopes[j].Value
				fields, problem := mapping(scopes[j+1], "npmScopes."+scope)
				if problem != "" {
					errs.add(scopes[j].Line, "%s", problem)
					continue
				}
				for k := 0; k < len(fields); k += 2 {
					if fields[k].Value == "npmRegistryServer" {
						server(scope, fields[k+1], "npmScopes."+scope+".npmRegistryServer")
					}
				}
			}
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return out, nil
}
