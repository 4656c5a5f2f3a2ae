package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/provaudit/provaudit/audit"
)

const schemaFile = "provaudit-policy.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaFile, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// instance turns a YAML policy into the JSON value the schema judges:
// scalars as YAML resolves them (a date stays the string it is written
// as, which is what the schema and Parse read).
func instance(t *testing.T, doc []byte) any {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		t.Fatal(err)
	}
	if len(n.Content) == 0 {
		return nil
	}
	var conv func(n *yaml.Node) any
	conv = func(n *yaml.Node) any {
		switch n.Kind {
		case yaml.MappingNode:
			m := map[string]any{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				m[n.Content[i].Value] = conv(n.Content[i+1])
			}
			return m
		case yaml.SequenceNode:
			l := []any{}
			for _, c := range n.Content {
				l = append(l, conv(c))
			}
			return l
		}
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			return n.Value == "true"
		case "!!int", "!!float":
			return json.Number(n.Value)
		}
		return n.Value
	}
	return conv(n.Content[0])
}

var readmePolicyRE = regexp.MustCompile("(?s)```yaml\n(# provaudit.yaml\n.*?)```")

// TestREADMEExamplesValidate: every policy example of the README (a yaml
// block that starts with "# provaudit.yaml") validates against the
// schema and parses, as a project's own file and as --policy.
func TestREADMEExamplesValidate(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmePolicyRE.FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("the README has no policy example")
	}
	schema := compileSchema(t)
	for i, b := range blocks {
		if err := schema.Validate(instance(t, b[1])); err != nil {
			t.Errorf("README example %d does not validate against %s: %v\n%s", i, schemaFile, err, b[1])
		}
		for _, namedBy := range []string{audit.NamedByProject, audit.NamedByUser} {
			if _, err := Parse("provaudit.yaml", namedBy, b[1]); err != nil {
				t.Errorf("README example %d (%s): %v", i, namedBy, err)
			}
		}
	}
	if err := schema.Validate(instance(t, []byte(fullPolicy))); err != nil {
		t.Errorf("the full policy of the tests does not validate: %v", err)
	}
}

// TestSchemaAgrees: the schema lists the policy rules, and refuses what
// Parse refuses for its structure.
func TestSchemaAgrees(t *testing.T) {
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs struct {
			PolicyRule struct {
				Enum []audit.Rule `json:"enum"`
			} `json:"policyRule"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Defs.PolicyRule.Enum, audit.PolicyRules) {
		t.Errorf("the schema's policy rules %v are not audit.PolicyRules %v", s.Defs.PolicyRule.Enum, audit.PolicyRules)
	}
	schema := compileSchema(t)
	for i, doc := range []string{
		"requireProvenence: true\n",
		"requireProvenance: yes\n",
		"requireProvenance: []\n",
		"minimumReleaseAge: 3\n",
		"minimumReleaseAge: 3 days\n",
		"identity:\n  issuer: [https://x.example]\n",
		"identity:\n  issuers: [http://x.example]\n",
		"identity:\n  hostedRunnersOnly: \"true\"\n",
		"identity:\n  packages:\n    a:\n      refs: [v1]\n",
		"identity:\n  packages:\n    a:\n      packages: {}\n",
		"rules:\n  release-ages: off\n",
		"rules:\n  signature-invalid: off\n",
		"rules:\n  release-age: severe\n",
		"exceptions:\n  - {package: a}\n",
		"exceptions:\n  - {package: a, reason: r, expires: 31/12/2027}\n",
		"exceptions:\n  - {package: a, reason: r, expires: 2027-01-01, rule: integrity-mismatch}\n",
		"exceptions:\n  - {package: a, reason: r, expires: 2027-01-01, until: x}\n",
		"exceptions:\n  - {package: a, reason: \"\", expires: 2027-01-01}\n",
	} {
		if _, err := Parse("p.yaml", audit.NamedByUser, []byte(doc)); err == nil {
			t.Errorf("%d: Parse accepts %q", i, doc)
		}
		if err := schema.Validate(instance(t, []byte(doc))); err == nil {
			t.Errorf("%d: the schema accepts %s", i, strconv.Quote(doc))
		}
	}
}
