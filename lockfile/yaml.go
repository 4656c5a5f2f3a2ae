package lockfile

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file reads the YAML of pnpm and yarn berry lockfiles with
// go.yaml.in/yaml/v3, whose nodes keep their lines, and bounds what a
// hostile file can cost.

// YAML lockfiles are untrusted input: these bound the memory and time they
// can cost. A YAML node takes about 200 bytes in memory, so the node
// bound, not the size bound, is what limits memory (to about 1.6 GB).
// Real lockfiles stay far below both: a 10,000-package pnpm lockfile has
// about 3 MB and 200,000 nodes.
const (
	maxYAMLSize  = 256 << 20
	maxYAMLNodes = 8 << 20
)

// yamlNodeBound returns an upper bound of the number of nodes the YAML in
// data can have: every node but the document's is a key or value that
// follows one of ",[{:-?" or a line break.
func yamlNodeBound(data []byte) int {
	n := 2
	for _, c := range []byte(",[{:-?\n") {
		n += bytes.Count(data, []byte{c}) // vectorized: 5% of a berry parse as a byte switch
	}
	return n
}

// checkYAMLBounds refuses data larger than maxSize bytes or with possibly
// more than maxNodes nodes, before anything is parsed.
func checkYAMLBounds(file string, data []byte, what string, maxSize, maxNodes int) error {
	if len(data) > maxSize {
		return fmt.Errorf("%w: %s: %d bytes, more than the %d a %s may have", ErrMalformed, file, len(data), maxSize, what)
	}
	if n := yamlNodeBound(data); n > maxNodes {
		return fmt.Errorf("%w: %s: up to %d YAML values, more than the %d a %s may have", ErrMalformed, file, n, maxNodes, what)
	}
	return nil
}

// decodeYAML parses data into its document's root node, which must be a
// mapping. Errors name the file (and the line where the YAML library
// reports one).
func decodeYAML(file string, data []byte, what string) (*yaml.Node, error) {
	if err := checkYAMLBounds(file, data, what, maxYAMLSize, maxYAMLNodes); err != nil {
		return nil, err
	}
	if line := secondDocument(data); line > 0 {
		return nil, fmt.Errorf("%w: %s:%d: a second YAML document: a %s has one", ErrMalformed, file, line, what)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlSyntaxError(file, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("%w: %s: the file is empty", ErrMalformed, file)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: %s:%d: the file holds %s, not a %s mapping", ErrMalformed, file, root.Line, yamlKind(root), what)
	}
	return root, nil
}

// secondDocument returns the line of a document marker ("---" or "...")
// that follows content, 0 when there is none: yaml.Unmarshal reads the
// first document only, and what follows must not be ignored. A marker at
// the start of a line is one wherever it is (YAML forbids it inside
// scalars).
func secondDocument(data []byte) int {
	content := false
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		l, data, _ = bytes.Cut(data, []byte("\n"))
		if bytes.HasPrefix(l, []byte("---")) || bytes.HasPrefix(l, []byte("...")) {
			if rest := l[3:]; len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' {
				if content || l[0] == '.' {
					return line
				}
				content = true // "--- value" starts the first document
				continue
			}
		}
		t := bytes.TrimLeft(l, " \t\r")
		if len(t) > 0 && t[0] != '#' && !(line == 1 && t[0] == '%') {
			content = true
		}
	}
	return 0
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// yamlSyntaxError wraps an error of the YAML library as ErrSyntax with
// file:line.
func yamlSyntaxError(file string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return fmt.Errorf("%w: %s:%d: not valid YAML: %s", ErrSyntax, file, line, clip(msg[len(m[0]):]))
	}
	return fmt.Errorf("%w: %s: not valid YAML: %s", ErrSyntax, file, clip(strings.TrimPrefix(msg, "yaml: ")))
}

// yamlKind names the kind of a node for messages.
func yamlKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "nothing"
}

// isNull reports whether n is absent or a YAML null.
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// mapping returns the content of mapping n: its keys and values, in turn
// (nil or null: none). problem is set when n is not a mapping, has a key
// that is not a plain scalar, a merge key ("<<", which the package
// managers' YAML readers would expand) or a key twice (which they refuse),
// or an anchor or alias among its keys and values (lockfiles never use
// them, and not following them keeps a file's cost linear in its size).
func mapping(n *yaml.Node, what string) (kv []*yaml.Node, problem string) {
	if isNull(n) {
		return nil, ""
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Sprintf("%s is %s, want a mapping", what, yamlKind(n))
	}
	c := n.Content
	var seen map[string]int
	if len(c) > 16 {
		seen = make(map[string]int, len(c)/2)
	}
	for i := 0; i+1 < len(c); i += 2 {
		k, v := c[i], c[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			return nil, fmt.Sprintf("%s has a key that is %s (line %d)", what, yamlKind(k), k.Line)
		case k.Tag == "!!merge" || k.Value == "<<" && k.Style == 0:
			return nil, fmt.Sprintf("%s has a YAML merge key << (line %d), which lockfiles do not use", what, k.Line)
		case v.Kind == yaml.AliasNode || k.Anchor != "" || v.Anchor != "":
			return nil, fmt.Sprintf("%s uses a YAML anchor or alias (line %d), which lockfiles do not use", what, v.Line)
		}
		if seen != nil {
			if j, dup := seen[k.Value]; dup {
				return nil, fmt.Sprintf("%s has the key %q twice (lines %d and %d)", what, clip(k.Value), c[j].Line, k.Line)
			}
			seen[k.Value] = i
		} else {
			for j := 0; j < i; j += 2 {
				if c[j].Value == k.Value {
					return nil, fmt.Sprintf("%s has the key %q twice (lines %d and %d)", what, clip(k.Value), c[j].Line, k.Line)
				}
			}
		}
	}
	return c[:len(c)&^1], ""
}

// stringMapping is mapping for a mapping of strings (dependencies: name ->
// spec): every value a scalar or null.
func stringMapping(n *yaml.Node, what string) ([]*yaml.Node, string) {
	kv, problem := mapping(n, what)
	if problem != "" {
		return nil, problem
	}
	for i := 1; i < len(kv); i += 2 {
		if _, p := scalar(kv[i], what); p != "" {
			return nil, fmt.Sprintf("%s %q: %s", what, clip(kv[i-1].Value), p)
		}
	}
	return kv, ""
}

// scalar returns the value of scalar n ("" for nil or null), or a problem.
func scalar(n *yaml.Node, what string) (string, string) {
	switch {
	case isNull(n):
		return "", ""
	case n.Kind != yaml.ScalarNode:
		return "", fmt.Sprintf("%s is %s, want a string", what, yamlKind(n))
	case n.Anchor != "":
		return "", fmt.Sprintf("%s has a YAML anchor, which lockfiles do not use", what)
	}
	return n.Value, ""
}

// value returns the value of a scalar node checked by scalar or
// stringMapping: "" for null.
func value(n *yaml.Node) string {
	if isNull(n) {
		return ""
	}
	return n.Value
}

// boolean returns the value of a true/false scalar (false for nil or
// null), or a problem.
func boolean(n *yaml.Node, what string) (bool, string) {
	switch {
	case isNull(n):
		return false, ""
	case n.Kind == yaml.ScalarNode && n.Tag == "!!bool":
		return n.Value == "true", ""
	}
	return false, fmt.Sprintf("%s is %s, want true or false", what, yamlKind(n))
}
