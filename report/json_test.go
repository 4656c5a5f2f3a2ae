package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/audit"
)

// The JSON contract of DESIGN.md, checked on the generic decoding of the
// output (not on audit's Go types, which could drift with it).
var (
	topLevelKeys       = []string{"lockfile", "packages", "problems", "registries", "schemaVersion", "summary", "tool", "trust"}
	packageKeys        = []string{"attestations", "findings", "integrity", "line", "name", "paths", "reason", "registrySignature", "status", "version"}
	packageStatuses    = []string{"verified", "signed", "unsigned", "invalid", "skipped", "error"}
	signatureEnum      = []string{"verified", "missing", "invalid", "untrusted", "unsupported"}
	attestationEnum    = []string{"verified", "missing", "invalid", "untrusted"}
	severityEnum       = []string{"critical", "high", "medium", "low"}
	summaryCounterKeys = []string{"audited", "error", "findings", "invalid", "packages", "signed", "skipped", "unsigned", "verified"}
)

func TestJSONContract(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := JSON(&buf, fx.result()); err != nil {
				t.Fatal(err)
			}
			checkJSONContract(t, buf.Bytes())
		})
	}
}

// checkJSONContract fails t unless doc follows the contract.
func checkJSONContract(t testing.TB, doc []byte) {
	t.Helper()
	var top map[string]any
	if err := json.Unmarshal(doc, &top); err != nil {
		t.Fatalf("output is not a JSON object: %v", err)
	}
	// policy and diff are there only when a policy or diff mode applied.
	got := slices.DeleteFunc(sortedKeys(top), func(k string) bool { return k == "policy" || k == "diff" })
	if !slices.Equal(got, topLevelKeys) {
		t.Fatalf("top-level keys %v, want %v (and policy and diff when they apply)", sortedKeys(top), topLevelKeys)
	}
	if v, ok := top["schemaVersion"].(float64); !ok || v != 2 {
		t.Errorf("schemaVersion = %v, want 2", top["schemaVersion"])
	}
	tool, _ := top["tool"].(map[string]any)
	if _, ok := tool["name"].(string); !ok {
		t.Errorf("tool.name missing: %v", top["tool"])
	}
	if _, ok := tool["version"].(string); !ok {
		t.Errorf("tool.version missing: %v", top["tool"])
	}
	lock, _ := top["lockfile"].(map[string]any)
	if _, ok := lock["path"].(string); !ok {
		t.Errorf("lockfile.path missing: %v", top["lockfile"])
	}
	summary, _ := top["summary"].(map[string]any)
	for _, k := range summaryCounterKeys {
		if _, ok := summary[k].(float64); !ok {
			t.Errorf("summary.%s missing or not a number: %v", k, summary[k])
		}
	}
	pkgs, ok := top["packages"].([]any)
	if !ok {
		t.Fatalf("packages is %T, want an array", top["packages"])
	}
	for i, raw := range pkgs {
		p, ok := raw.(map[string]any)
		if !ok {
			t.Fatalf("packages[%d] is %T, want an object", i, raw)
		}
		for _, k := range packageKeys {
			if _, ok := p[k]; !ok {
				t.Errorf("packages[%d] has no %q: %v", i, k, sortedKeys(p))
			}
		}
		for _, k := range []string{"name", "version", "integrity", "reason"} {
			if _, ok := p[k].(string); !ok {
				t.Errorf("packages[%d].%s is %T, want a string", i, k, p[k])
			}
		}
		if line, ok := p["line"].(float64); !ok || line < 1 {
			t.Errorf("packages[%d].line = %v, want a number >= 1", i, p["line"])
		}
		if paths, ok := p["paths"].([]any); !ok {
			t.Errorf("packages[%d].paths is %T, want an array (never null)", i, p["paths"])
		} else {
			for j, x := range paths {
				if _, ok := x.(string); !ok {
					t.Errorf("packages[%d].paths[%d] is %T", i, j, x)
				}
			}
		}
		checkEnum(t, p["status"], packageStatuses, "packages[%d].status", i)
		for _, sub := range []struct {
			key  string
			enum []string
		}{{"registrySignature", signatureEnum}, {"attestations", attestationEnum}} {
			switch v := p[sub.key].(type) {
			case nil: // not performed
			case map[string]any:
				checkEnum(t, v["status"], sub.enum, "packages[%d]."+sub.key+".status", i)
				if _, ok := v["reason"].(string); !ok {
					t.Errorf("packages[%d].%s.reason missing", i, sub.key)
				}
			default:
				t.Errorf("packages[%d].%s is %T, want an object or null", i, sub.key, v)
			}
		}
		findings, ok := p["findings"].([]any)
		if !ok {
			t.Errorf("packages[%d].findings is %T, want an array (never null)", i, p["findings"])
		}
		for j, raw := range findings {
			f, _ := raw.(map[string]any)
			if r, ok := f["rule"].(string); !ok || r == "" {
				t.Errorf("packages[%d].findings[%d].rule = %v", i, j, f["rule"])
			}
			if _, ok := f["message"].(string); !ok {
				t.Errorf("packages[%d].findings[%d].message missing", i, j)
			}
			checkEnum(t, f["severity"], severityEnum, "packages[%d].findings.severity", i)
		}
	}
}

func checkEnum(t testing.TB, v any, enum []string, format string, args ...any) {
	t.Helper()
	s, ok := v.(string)
	if !ok || !slices.Contains(enum, s) {
		t.Errorf(format+" = %v, want one of %v", append(args, v, enum)...)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestJSONContractCatchesViolations proves the contract check can fail.
func TestJSONContractCatchesViolations(t *testing.T) {
	tests := []struct {
		name, doc string
	}{
		{"null findings", `{"schemaVersion":2,"tool":{"name":"p","version":"v"},"lockfile":{"path":"x"},"summary":{},"packages":[{"name":"a","version":"1","integrity":"","paths":[],"line":1,"status":"signed","reason":"","registrySignature":null,"attestations":null,"findings":null}]}`},
		{"status outside the enum", `{"schemaVersion":2,"tool":{"name":"p","version":"v"},"lockfile":{"path":"x"},"summary":{},"packages":[{"name":"a","version":"1","integrity":"","paths":[],"line":1,"status":"ok","reason":"","registrySignature":null,"attestations":null,"findings":[]}]}`},
		{"extra top-level key", `{"schemaVersion":2,"extra":0,"tool":{},"lockfile":{},"summary":{},"packages":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			rec.run(func() { checkJSONContract(rec, []byte(tt.doc)) })
			if !rec.failed {
				t.Errorf("contract check accepted %s", tt.doc)
			}
		})
	}
}

func TestJSONNeverNull(t *testing.T) {
	r := newResult(audit.Package{Name: "a", Version: "1.0.0", Line: 3, Kind: "registry", Status: audit.StatusError, Reason: "boom"})
	r.Packages[0].Paths, r.Packages[0].Findings = nil, nil
	var buf bytes.Buffer
	if err := JSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"paths": []`, `"findings": []`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %s:\n%s", want, buf.String())
		}
	}
	if r.Packages[0].Paths != nil || r.Packages[0].Findings != nil {
		t.Error("JSON modified its input")
	}

	r.Packages = nil
	buf.Reset()
	if err := JSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"packages": []`) {
		t.Errorf("nil packages not written as []:\n%s", buf.String())
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			checkJSONRoundTrip(t, fx.result())
		})
	}
}

// checkJSONRoundTrip decodes the JSON of r into an audit.Result and
// compares it with r (nil slices read as empty), and re-encodes it to the
// same bytes.
func checkJSONRoundTrip(t *testing.T, r *audit.Result) {
	t.Helper()
	var first bytes.Buffer
	if err := JSON(&first, r); err != nil {
		t.Fatal(err)
	}
	var back audit.Result
	dec := json.NewDecoder(bytes.NewReader(first.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatalf("decoding own output: %v", err)
	}
	want := normalized(r)
	if want.Packages == nil {
		want.Packages = []audit.Package{}
	}
	if !reflect.DeepEqual(&back, want) {
		t.Errorf("round trip changed the result\n got: %+v\nwant: %+v", back, *want)
	}
	var second bytes.Buffer
	if err := JSON(&second, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Errorf("re-encoding differs:\n%s\n---\n%s", first.Bytes(), second.Bytes())
	}
}

// TestJSONFieldOrder pins the order of the top-level fields and of a
// package's first fields: consumers diffing outputs rely on it.
func TestJSONFieldOrder(t *testing.T) {
	var buf bytes.Buffer
	if err := JSON(&buf, mixedResult()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	order := []string{`"schemaVersion"`, `"tool"`, `"lockfile"`, `"trust"`, `"registries"`, `"summary"`, `"packages"`, `"name"`, `"version"`, `"integrity"`, `"paths"`, `"line"`, `"kind"`, `"status"`, `"reason"`, `"registrySignature"`, `"attestations"`, `"findings"`}
	at := 0
	for _, k := range order {
		i := strings.Index(out[at:], k)
		if i < 0 {
			t.Fatalf("%s not found after offset %d", k, at)
		}
		at += i
	}
	if !strings.HasSuffix(out, "}\n") || !strings.HasPrefix(out, "{\n  \"schemaVersion\": 2,") {
		t.Errorf("not indented JSON with schemaVersion first:\n%.80s", out)
	}
}

// recorder is a testing.TB that records failures instead of failing the
// test, to prove that a check can fail. Only the methods checks use are
// implemented.
type recorder struct {
	testing.TB
	failed bool
}

type stopCheck struct{}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Error(...any)          { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic(stopCheck{}) }
func (r *recorder) Fatal(...any)          { r.failed = true; panic(stopCheck{}) }
func (r *recorder) Logf(string, ...any)   {}

// run calls check, absorbing the panic with which Fatal stops it.
func (r *recorder) run(check func()) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(stopCheck); !ok {
				panic(v)
			}
		}
	}()
	check()
}
