package policy

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"go.yaml.in/yaml/v3"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/npmspec"
)

// maxErrors bounds the problems one Parse reports.
const maxErrors = 20

// Keys of each mapping of the policy file, in the order the schema lists
// them.
var (
	topKeys        = []string{"requireProvenance", "identity", "minimumReleaseAge", "rules", "exceptions"}
	constraintKeys = []string{"issuers", "repository", "workflows", "refs", "hostedRunnersOnly"}
	identityKeys   = append(slices.Clone(constraintKeys), "packages")
	exceptionKeys  = []string{"package", "rule", "reason", "expires"}
)

// Parse parses the content of a policy file (see the package
// documentation for the format). file names it in errors and in the Where
// of what it declares; namedBy is audit.NamedByUser or
// audit.NamedByProject. Every problem found is reported (up to 20), each
// as an [*Error] with file:line:column, joined; all of them wrap
// ErrMalformed. An empty file is an empty policy.
func Parse(file, namedBy string, data []byte) (*Policy, error) {
	if len(data) > MaxSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("%d bytes, more than the %d a policy file may have", len(data), MaxSize)}
	}
	p := &parser{file: file, pol: &Policy{File: file, NamedBy: namedBy}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return p.pol, nil // an empty file
		}
		return nil, syntaxError(file, err)
	}
	var second yaml.Node
	if err := dec.Decode(&second); !errors.Is(err, io.EOF) {
		line := second.Line
		if err != nil {
			return nil, syntaxError(file, err)
		}
		return nil, &Error{File: file, Line: line, Column: second.Column, Msg: "a second YAML document: a policy file has one"}
	}
	if len(doc.Content) != 1 {
		return p.pol, nil
	}
	root := doc.Content[0]
	if !p.noAliases(root) {
		return nil, p.err()
	}
	if isNull(root) {
		return p.pol, nil
	}
	p.top(root)
	if err := p.err(); err != nil {
		return nil, err
	}
	return p.pol, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError turns an error of the YAML library into an *Error with the
// line it names (it gives no column).
func syntaxError(file string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: "not valid YAML: " + msg[len(m[0]):]}
	}
	return &Error{File: file, Msg: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

type parser struct {
	file string
	pol  *Policy
	errs []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	if len(p.errs) == maxErrors {
		p.errs = append(p.errs, &Error{File: p.file, Msg: "further problems not reported"})
	}
	if len(p.errs) > maxErrors {
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// err joins the problems found, in the order of their positions.
func (p *parser) err() error {
	pos := func(e error) (int, int) {
		if pe, ok := e.(*Error); ok && pe.Line > 0 {
			return pe.Line, pe.Column
		}
		return math.MaxInt, 0 // no position: last
	}
	slices.SortStableFunc(p.errs, func(a, b error) int {
		la, ca := pos(a)
		lb, cb := pos(b)
		return cmp.Or(cmp.Compare(la, lb), cmp.Compare(ca, cb))
	})
	return errors.Join(p.errs...)
}

func (p *parser) where(n *yaml.Node) string { return fmt.Sprintf("%s:%d", p.file, n.Line) }

// noAliases refuses anchors and aliases anywhere: a policy file has no use
// for them, and aliases can make a small file expand without bound.
func (p *parser) noAliases(n *yaml.Node) bool {
	ok := true
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode || n.Anchor != "" {
			p.errorf(n, "YAML anchors and aliases are not supported in a policy file")
			ok = false
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return ok
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node holds, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing (null)"
		case "!!bool":
			return n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!timestamp":
			return "the date " + n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "a YAML node of another kind"
}

// mapping calls each for every key of the mapping n (named what in
// messages), refusing keys not in known (with a suggestion) and duplicates.
func (p *parser) mapping(n *yaml.Node, what string, known []string, each func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping, got %s", what, describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: a key must be a plain string, got %s", what, describe(k))
			continue
		}
		if seen[k.Value] {
			p.errorf(k, "%s: key %q appears twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		if known != nil && !slices.Contains(known, k.Value) {
			p.errorf(k, "%s: unknown key %q%s", what, k.Value, suggest(k.Value, known))
			continue
		}
		each(k.Value, k, v)
	}
}

// str returns the string scalar n; anything else is an error.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errorf(n, "%s: want a string, got %s", what, describe(n))
		return "", false
	}
	if n.Value == "" {
		p.errorf(n, "%s: the string is empty", what)
		return "", false
	}
	return n.Value, true
}

// strList returns the list of strings n, each checked by check (which
// returns what is wrong, "" when nothing).
func (p *parser) strList(n *yaml.Node, what string, check func(string) string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: want a list, got %s", what, describe(n))
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "%s: the list is empty (leave the key out to allow anything)", what)
		return nil
	}
	var out []string
	for _, c := range n.Content {
		s, ok := p.str(c, what)
		if !ok {
			continue
		}
		if check != nil {
			if msg := check(s); msg != "" {
				p.errorf(c, "%s: %s", what, msg)
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		p.errorf(n, "%s: want true or false, got %s", what, describe(n))
		return false, false
	}
	return n.Value == "true", true
}

func (p *parser) top(root *yaml.Node) {
	p.mapping(root, "the policy", topKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "requireProvenance":
			p.requireProvenance(k, v)
		case "identity":
			p.identity(k, v)
		case "minimumReleaseAge":
			if s, ok := p.str(v, key); ok {
				d, err := ParseAge(s)
				if err != nil {
					p.errorf(v, "%s: %v", key, err)
					return
				}
				p.pol.MinimumReleaseAge = d
			}
		case "rules":
			p.rules(v)
		case "exceptions":
			p.exceptions(v)
		}
	})
}

func (p *parser) requireProvenance(k, v *yaml.Node) {
	p.pol.requireWhere = p.where(k)
	switch {
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool":
		p.pol.RequireAll = v.Value == "true"
	case v.Kind == yaml.SequenceNode:
		if len(p.strList(v, "requireProvenance", checkPattern)) < len(v.Content) {
			return // strList said what is wrong
		}
		for _, item := range v.Content {
			p.pol.RequireProvenance = append(p.pol.RequireProvenance, Pattern{Text: item.Value, Where: p.where(item)})
		}
	default:
		p.errorf(v, "requireProvenance: want true, false or a list of package names and scopes (@scope/*), got %s", describe(v))
	}
}

// checkPattern says what is wrong with a package pattern: a valid name,
// or a glob.
func checkPattern(s string) string {
	if strings.ContainsAny(s, "*?[") {
		if _, err := path.Match(s, ""); err != nil {
			return fmt.Sprintf("%q is not a valid pattern: %v", s, err)
		}
		return ""
	}
	if err := npmspec.ValidName(s); err != nil {
		return err.Error()
	}
	return ""
}

func (p *parser) identity(k, v *yaml.Node) {
	id := &p.pol.Identity
	id.Where = p.where(k)
	p.mapping(v, "identity", identityKeys, func(key string, kk, vv *yaml.Node) {
		if key != "packages" {
			p.constraint(&id.Constraints, "identity", key, vv)
			return
		}
		p.mapping(vv, "identity.packages", nil, func(name string, pk, pv *yaml.Node) {
			what := "identity.packages." + name
			if msg := checkPattern(name); msg != "" {
				p.errorf(pk, "%s: %s", "identity.packages", msg)
				return
			}
			e := PackageIdentity{Pattern: Pattern{Text: name, Where: p.where(pk)}}
			e.Where = p.where(pk)
			p.mapping(pv, what, constraintKeys, func(key string, _, cv *yaml.Node) {
				p.constraint(&e.Constraints, what, key, cv)
			})
			id.Packages = append(id.Packages, e)
		})
	})
}

// constraint reads one key of a constraint set.
func (p *parser) constraint(c *Constraints, parent, key string, v *yaml.Node) {
	what := parent + "." + key
	switch key {
	case "issuers":
		c.Issuers = p.strList(v, what, checkIssuer)
	case "repository":
		if s, ok := p.str(v, what); ok {
			r := NormalizeRepository(s)
			if msg := checkRepository(r); msg != "" {
				p.errorf(v, "%s: %q %s", what, s, msg)
				return
			}
			c.Repository = r
		}
	case "workflows":
		c.Workflows = p.strList(v, what, checkGlob)
	case "refs":
		c.Refs = p.strList(v, what, func(s string) string {
			if !strings.HasPrefix(s, "refs/") {
				return fmt.Sprintf("%q is not a full git ref: write refs/tags/%s or refs/heads/%s", s, s, s)
			}
			return checkGlob(s)
		})
	case "hostedRunnersOnly":
		if b, ok := p.boolean(v, what); ok {
			c.HostedRunnersOnly = &b
		}
	}
}

func checkIssuer(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Sprintf("%q is not an https URL (an OIDC issuer such as the one of GitHub Actions or GitLab CI)", s)
	}
	return ""
}

func checkGlob(s string) string {
	if _, err := path.Match(s, ""); err != nil {
		return fmt.Sprintf("%q is not a valid pattern: %v", s, err)
	}
	return ""
}

func checkRepository(r string) string {
	host, rest, ok := strings.Cut(r, "/")
	if !ok || host == "" || rest == "" || strings.Contains(r, "//") {
		return "is not a repository: write host/owner/name, e.g. github.com/myorg/myrepo (a * matches any name: github.com/myorg/*)"
	}
	return checkGlob(r)
}

// NormalizeRepository brings a repository URL to the form policies and
// baselines compare: no git+ prefix, no scheme, no .git suffix, no
// trailing slash, lower case (GitHub and GitLab names are case
// insensitive).
func NormalizeRepository(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "git+")
	for _, scheme := range []string{"https://", "http://", "ssh://git@", "git://"} {
		if rest, ok := strings.CutPrefix(s, scheme); ok {
			s = rest
			break
		}
	}
	s = strings.TrimSuffix(s, "/")
	return strings.TrimSuffix(s, ".git")
}

func (p *parser) rules(v *yaml.Node) {
	p.pol.Rules = map[audit.Rule]RuleSetting{}
	p.mapping(v, "rules", nil, func(key string, k, vv *yaml.Node) {
		r := audit.Rule(key)
		if msg := checkRule(r); msg != "" {
			p.errorf(k, "rules: %s", msg)
			return
		}
		what := "rules." + key
		if vv.Kind != yaml.ScalarNode || vv.ShortTag() != "!!str" {
			p.errorf(vv, "%s: want off or a severity (critical, high, medium, low), got %s", what, describe(vv))
			return
		}
		s := RuleSetting{Where: p.where(k)}
		if vv.Value == "off" {
			if p.pol.NamedBy == audit.NamedByProject {
				p.errorf(vv, "%s: the project's own policy file cannot switch a rule off (it is input of the audited project); waive single findings with an exception, listed in every report, or give your own policy with --policy FILE", what)
				return
			}
			s.Off = true
		} else {
			sev, err := audit.ParseSeverity(vv.Value)
			if err != nil {
				p.errorf(vv, "%s: want off or a severity (critical, high, medium, low), got %q", what, vv.Value)
				return
			}
			s.Severity = sev
		}
		p.pol.Rules[r] = s
	})
}

// checkRule says why a rule id cannot be configured, "" when it can.
func checkRule(r audit.Rule) string {
	if audit.IsPolicyRule(r) {
		return ""
	}
	if slices.Contains(verificationRules, r) {
		return fmt.Sprintf("%s is a verification rule (possible tampering, a key nothing trusts, an install bound to nothing verified): no policy can switch it off, change it or waive it; policy rules are %s", r, ruleList())
	}
	return fmt.Sprintf("unknown rule %q%s; policy rules are %s", r, suggest(string(r), ruleNames()), ruleList())
}

// verificationRules are the rules no policy may touch.
var verificationRules = []audit.Rule{
	audit.RuleSignatureInvalid, audit.RuleSignatureMissing, audit.RuleSignatureUntrusted,
	audit.RuleAttestationInvalid, audit.RuleAttestationUntrusted,
	audit.RuleIntegrityMismatch, audit.RuleIntegrityUnbound,
}

func ruleNames() []string {
	out := make([]string, len(audit.PolicyRules))
	for i, r := range audit.PolicyRules {
		out[i] = string(r)
	}
	return out
}

func ruleList() string { return strings.Join(ruleNames(), ", ") }

func (p *parser) exceptions(v *yaml.Node) {
	if v.Kind != yaml.SequenceNode {
		p.errorf(v, "exceptions: want a list of {package, rule, reason, expires}, got %s", describe(v))
		return
	}
	for i, item := range v.Content {
		what := fmt.Sprintf("exceptions[%d]", i)
		e := Exception{Where: p.where(item)}
		have := map[string]bool{}
		p.mapping(item, what, exceptionKeys, func(key string, _, vv *yaml.Node) {
			have[key] = true
			switch key {
			case "package":
				if s, ok := p.str(vv, what+".package"); ok {
					p.exceptionPackage(&e, s, vv, what)
				}
			case "rule":
				if s, ok := p.str(vv, what+".rule"); ok {
					if msg := checkRule(audit.Rule(s)); msg != "" {
						p.errorf(vv, "%s.rule: %s", what, msg)
						return
					}
					e.Rule = audit.Rule(s)
				}
			case "reason":
				if s, ok := p.str(vv, what+".reason"); ok {
					e.Reason = strings.TrimSpace(s)
				}
			case "expires":
				p.expires(&e, vv, what)
			}
		})
		if item.Kind != yaml.MappingNode {
			continue
		}
		for _, key := range []string{"package", "reason", "expires"} {
			if !have[key] {
				p.errorf(item, "%s: %s is required (an exception names its package, says why, and ends)", what, key)
			}
		}
		p.pol.Exceptions = append(p.pol.Exceptions, e)
	}
}

// exceptionPackage reads NAME or NAME@RANGE.
func (p *parser) exceptionPackage(e *Exception, s string, n *yaml.Node, what string) {
	name, rng := s, ""
	if i := strings.LastIndex(s, "@"); i > 0 {
		name, rng = s[:i], s[i+1:]
	}
	if err := npmspec.ValidName(name); err != nil {
		p.errorf(n, "%s.package: %v (want NAME or NAME@RANGE)", what, err)
		return
	}
	e.Package, e.Name = s, name
	if rng == "" {
		if strings.HasSuffix(s, "@") && s != name {
			p.errorf(n, "%s.package: %q has an empty version range", what, s)
		}
		return
	}
	c, err := semver.NewConstraint(rng)
	if err != nil {
		p.errorf(n, "%s.package: %q is not a semver range: %v", what, rng, err)
		return
	}
	e.Range = c
}

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func (p *parser) expires(e *Exception, n *yaml.Node, what string) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!timestamp" && n.ShortTag() != "!!str") {
		p.errorf(n, "%s.expires: want a date YYYY-MM-DD, got %s", what, describe(n))
		return
	}
	if !dateRE.MatchString(n.Value) {
		p.errorf(n, "%s.expires: want a date YYYY-MM-DD, got %q", what, n.Value)
		return
	}
	t, err := time.Parse(time.DateOnly, n.Value)
	if err != nil {
		p.errorf(n, "%s.expires: %q is not a date: %v", what, n.Value, err)
		return
	}
	e.Expires, e.ExpiresText = t, n.Value
}

// suggest returns ` (did you mean "x"?)` for the known word closest to s,
// when one is close enough.
func suggest(s string, known []string) string {
	best, bestD := "", len(s)/3+2
	for _, k := range known {
		if d := distance(strings.ToLower(s), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance of a and b (bytes).
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
