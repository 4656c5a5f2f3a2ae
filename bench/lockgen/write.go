package lockgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Registry is the host written into resolved URLs: fixtures and tests use
// registry.invalid, and an auditor is pointed at its fake registry anyway.
const Registry = "https://registry.invalid/"

// outEntry is one packages entry, fields in npm's order.
type outEntry struct {
	Name                 string            `json:"name,omitempty"`
	Version              string            `json:"version"`
	Resolved             string            `json:"resolved"`
	Integrity            string            `json:"integrity"`
	Dev                  bool              `json:"dev,omitempty"`
	Optional             bool              `json:"optional,omitempty"`
	DevOptional          bool              `json:"devOptional,omitempty"`
	HasInstallScript     json.RawMessage   `json:"hasInstallScript,omitempty"`
	License              json.RawMessage   `json:"license,omitempty"`
	Dependencies         map[string]string `json:"dependencies,omitempty"`
	OptionalDependencies map[string]string `json:"optionalDependencies,omitempty"`
	Bin                  json.RawMessage   `json:"bin,omitempty"`
	Engines              json.RawMessage   `json:"engines,omitempty"`
	Funding              json.RawMessage   `json:"funding,omitempty"`
	OS                   json.RawMessage   `json:"os,omitempty"`
	CPU                  json.RawMessage   `json:"cpu,omitempty"`
	Deprecated           json.RawMessage   `json:"deprecated,omitempty"`
}

type rootEntry struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	License              string            `json:"license"`
	Dependencies         map[string]string `json:"dependencies,omitempty"`
	DevDependencies      map[string]string `json:"devDependencies,omitempty"`
	OptionalDependencies map[string]string `json:"optionalDependencies,omitempty"`
}

// TarballURL is the registry tarball URL of name@version under Registry.
func TarballURL(name, version string) string {
	base := name[strings.LastIndex(name, "/")+1:]
	return Registry + name + "/-/" + base + "-" + version + ".tgz"
}

// write renders the lockfile: top-level fields, then packages in path
// order with the root first, two-space indented as npm writes it.
func (g *generator) write() ([]byte, error) {
	var buf bytes.Buffer
	head, err := json.Marshal(g.opts.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGenerate, err)
	}
	fmt.Fprintf(&buf, "{\n  \"name\": %s,\n  \"version\": \"1.0.0\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {\n", head)

	root := rootEntry{Name: g.opts.Name, Version: "1.0.0", License: "UNLICENSED"}
	for _, e := range g.root.edges {
		var m *map[string]string
		switch e.kind {
		case depProd:
			m = &root.Dependencies
		case depOptional:
			m = &root.OptionalDependencies
		default:
			m = &root.DevDependencies
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[e.folder] = e.spec
	}
	if err := writeMember(&buf, "", root, false); err != nil {
		return nil, err
	}

	nodes := slices.Clone(g.nodes[1:])
	sortNodes(nodes)
	for i, n := range nodes {
		e := outEntry{
			Version:   n.u.version,
			Resolved:  TarballURL(n.u.name, n.u.version),
			Integrity: n.u.integrity,
		}
		if n.folder != n.u.name {
			e.Name = n.u.name
		}
		e.Dev, e.Optional, e.DevOptional = n.flags()
		x := n.u.base.extra
		e.HasInstallScript, e.License, e.Bin, e.Engines = x.HasInstallScript, x.License, x.Bin, x.Engines
		e.Funding, e.OS, e.CPU, e.Deprecated = x.Funding, x.OS, x.CPU, x.Deprecated
		for _, d := range n.edges {
			m := &e.Dependencies
			if d.kind == depOptional {
				m = &e.OptionalDependencies
			}
			if *m == nil {
				*m = map[string]string{}
			}
			(*m)[d.folder] = d.spec
		}
		if err := writeMember(&buf, n.path, e, i == len(nodes)-1); err != nil {
			return nil, err
		}
	}
	buf.WriteString("  }\n}\n")
	return buf.Bytes(), nil
}

// writeMember writes `    "key": value` (value indented) and a comma
// unless last.
func writeMember(buf *bytes.Buffer, key string, v any, last bool) error {
	k, err := json.Marshal(key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrGenerate, err)
	}
	var val bytes.Buffer
	enc := json.NewEncoder(&val)
	enc.SetEscapeHTML(false) // ">=4" as npm writes it, not "\u003e=4"
	enc.SetIndent("    ", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrGenerate, key, err)
	}
	buf.WriteString("    ")
	buf.Write(k)
	buf.WriteString(": ")
	buf.Write(bytes.TrimSuffix(val.Bytes(), []byte("\n")))
	if !last {
		buf.WriteByte(',')
	}
	buf.WriteByte('\n')
	return nil
}
