package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/audit"
	"github.com/provaudit/provaudit/internal/sarifschema"
)

// validateSARIF validates doc against the SARIF 2.1.0 schema.
func validateSARIF(t testing.TB, doc []byte) error {
	t.Helper()
	return sarifschema.Validate(doc)
}

func renderSARIF(t testing.TB, r *audit.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := SARIF(&buf, r); err != nil {
		t.Fatalf("SARIF: %v", err)
	}
	return buf.Bytes()
}

func TestSARIFValidatesAgainstSchema(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			if err := validateSARIF(t, renderSARIF(t, fx.result())); err != nil {
				t.Errorf("SARIF does not validate against the 2.1.0 schema: %v", err)
			}
		})
	}
}

// TestSARIFSchemaRejects proves the schema validation can fail.
func TestSARIFSchemaRejects(t *testing.T) {
	good := string(renderSARIF(t, mixedResult()))
	tests := []struct{ name, old, new string }{
		{"unknown level", `"level": "error"`, `"level": "fatal"`},
		{"wrong version", `"version": "2.1.0"`, `"version": "2.0.0"`},
		{"line zero", `"startLine": 187`, `"startLine": 0`},
		{"unknown property", `"ruleId":`, `"rule": "x", "ruleId":`},
		{"bad time", `"startTimeUtc": "2025-03-14T15:09:26Z"`, `"startTimeUtc": "yesterday"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("fixture output lacks %s", tt.old)
			}
			bad := strings.Replace(good, tt.old, tt.new, 1)
			if err := validateSARIF(t, []byte(bad)); err == nil {
				t.Errorf("schema accepted SARIF with %s", tt.name)
			}
		})
	}
}

// sarifDoc is what the GitHub checks below read back from the output.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				Rules   []struct {
					ID                   audit.Rule `json:"id"`
					ShortDescription     struct{ Text string }
					FullDescription      struct{ Text string }
					Help                 struct{ Text string }
					DefaultConfiguration struct{ Level string }
					Properties           struct {
						Tags             []string `json:"tags"`
						SecuritySeverity string   `json:"security-severity"`
					}
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Invocations []struct {
			ExecutionSuccessful        bool `json:"executionSuccessful"`
			ToolExecutionNotifications []struct {
				Message struct{ Text string }
			} `json:"toolExecutionNotifications"`
		} `json:"invocations"`
		Results []struct {
			RuleID    audit.Rule `json:"ruleId"`
			RuleIndex int        `json:"ruleIndex"`
			Level     string     `json:"level"`
			Message   struct{ Text string }
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI       string `json:"uri"`
						URIBaseID string `json:"uriBaseId"`
					} `json:"artifactLocation"`
					Region struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
		} `json:"results"`
	} `json:"runs"`
}

func decodeSARIF(t testing.TB, doc []byte) sarifDoc {
	t.Helper()
	var d sarifDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("decoding SARIF: %v", err)
	}
	if len(d.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(d.Runs))
	}
	return d
}

// checkSARIFForGitHub checks what GitHub code scanning needs beyond the
// schema, and that the results are exactly the findings of r.
func checkSARIFForGitHub(t testing.TB, r *audit.Result, doc []byte) {
	t.Helper()
	d := decodeSARIF(t, doc)
	run := d.Runs[0]
	if d.Version != "2.1.0" || d.Schema != SARIFSchema {
		t.Errorf("version %q schema %q", d.Version, d.Schema)
	}
	if run.Tool.Driver.Name == "" {
		t.Error("tool.driver.name is empty")
	}
	ruleAt := map[audit.Rule]int{}
	for i, rl := range run.Tool.Driver.Rules {
		if _, dup := ruleAt[rl.ID]; dup {
			t.Errorf("rule %s listed twice", rl.ID)
		}
		ruleAt[rl.ID] = i
		if rl.ShortDescription.Text == "" || rl.FullDescription.Text == "" || rl.Help.Text == "" || rl.DefaultConfiguration.Level == "" {
			t.Errorf("rule %s lacks descriptions, help or level", rl.ID)
		}
		if n := len(rl.Properties.Tags); n == 0 || n > 20 {
			t.Errorf("rule %s has %d tags; GitHub accepts 1..20", rl.ID, n)
		}
		if rl.Properties.SecuritySeverity == "" {
			t.Errorf("rule %s has no security-severity", rl.ID)
		}
	}
	for _, rl := range Rules {
		if _, ok := ruleAt[rl.ID]; !ok {
			t.Errorf("known rule %s not listed", rl.ID)
		}
	}

	type key struct {
		rule audit.Rule
		line int
	}
	want := map[key]int{}
	total := 0
	for _, p := range r.Packages {
		fs := p.Findings
		for _, e := range p.Exceptions {
			fs = append(fs[:len(fs):len(fs)], e.Waived...)
		}
		for _, f := range fs {
			want[key{f.Rule, p.Line}]++
			total++
		}
	}
	if len(run.Results) != total {
		t.Errorf("%d results, want one per finding, waived ones included (%d)", len(run.Results), total)
	}
	if len(run.Results) > 25000 {
		t.Errorf("%d results exceed GitHub's limit", len(run.Results))
	}
	fingerprints := map[string]bool{}
	wantURI := artifactLocation(r.Lockfile.Path).URI
	for i, res := range run.Results {
		idx, ok := ruleAt[res.RuleID]
		if !ok || idx != res.RuleIndex {
			t.Errorf("result %d: ruleId %q ruleIndex %d does not match the rules", i, res.RuleID, res.RuleIndex)
		}
		if res.Level == "" || res.Message.Text == "" {
			t.Errorf("result %d has no level or message", i)
		}
		if len(res.Locations) == 0 {
			t.Fatalf("result %d has no location", i)
		}
		pl := res.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URI != wantURI || strings.Contains(pl.ArtifactLocation.URI, `\`) {
			t.Errorf("result %d: uri %q, want %q", i, pl.ArtifactLocation.URI, wantURI)
		}
		if pl.Region.StartLine < 1 {
			t.Errorf("result %d: startLine %d", i, pl.Region.StartLine)
		}
		want[key{res.RuleID, pl.Region.StartLine}]--
		fp := res.PartialFingerprints[FingerprintKey]
		if len(fp) != 64 {
			t.Errorf("result %d: fingerprint %q", i, fp)
		}
		if fingerprints[fp] {
			t.Errorf("result %d: fingerprint %s repeats", i, fp)
		}
		fingerprints[fp] = true
	}
	for k, n := range want {
		if n != 0 {
			t.Errorf("findings of rule %s at line %d: %d unmatched", k.rule, k.line, n)
		}
	}
	errs := 0
	for _, p := range r.Packages {
		if p.Status == audit.StatusError || p.SourceCheck != nil && p.SourceCheck.Status == audit.SourceIncomplete {
			errs++
		}
	}
	if r.Summary.Audited > 0 && r.Summary.Checked == 0 {
		errs++ // "nothing was verified" is a notification of its own
	}
	inv := run.Invocations
	if len(inv) != 1 || len(inv[0].ToolExecutionNotifications) != errs || inv[0].ExecutionSuccessful != (errs == 0) {
		t.Errorf("invocations %+v, want one with %d notifications", inv, errs)
	}
}

func TestSARIFForGitHub(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			r := fx.result()
			checkSARIFForGitHub(t, r, renderSARIF(t, r))
		})
	}
}

func TestSARIFMessageNamesPackageAndReason(t *testing.T) {
	d := decodeSARIF(t, renderSARIF(t, mixedResult()))
	for _, res := range d.Runs[0].Results {
		if res.RuleID == audit.RuleSignatureMissing {
			msg := res.Message.Text
			for _, want := range []string{"left-pad@1.3.0", "carries no registry signature", "although the registry publishes signing keys"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			return
		}
	}
	t.Fatal("no signature-missing result")
}

func TestSARIFLevels(t *testing.T) {
	tests := []struct {
		sev  audit.Severity
		want string
	}{
		{audit.SeverityCritical, "error"},
		{audit.SeverityHigh, "error"},
		{audit.SeverityMedium, "warning"},
		{audit.SeverityLow, "note"},
	}
	for _, tt := range tests {
		t.Run(string(tt.sev), func(t *testing.T) {
			p := registryPkg("a", "1.0.0", 5)
			p.Status, p.Reason = audit.StatusSigned, "signed"
			p.Findings = []audit.Finding{{Rule: "some-future-rule", Severity: tt.sev, Message: "m"}}
			d := decodeSARIF(t, renderSARIF(t, newResult(p)))
			if got := d.Runs[0].Results[0].Level; got != tt.want {
				t.Errorf("level %q, want %q", got, tt.want)
			}
			rules := d.Runs[0].Tool.Driver.Rules
			last := rules[len(rules)-1]
			if last.ID != "some-future-rule" || last.DefaultConfiguration.Level != tt.want {
				t.Errorf("unknown rule listed as %+v", last)
			}
		})
	}
}

// TestSARIFFingerprintStable: the fingerprint ignores the line and the
// wording, and changes with the rule, the package or its integrity.
func TestSARIFFingerprintStable(t *testing.T) {
	base := func() *audit.Result {
		p := registryPkg("a", "1.0.0", 5)
		p.Status, p.Reason = audit.StatusUnsigned, "no signature"
		p.Findings = []audit.Finding{{Rule: audit.RuleSignatureMissing, Severity: audit.SeverityHigh, Message: "m"}}
		return newResult(p)
	}
	fp := func(r *audit.Result) string {
		t.Helper()
		return decodeSARIF(t, renderSARIF(t, r)).Runs[0].Results[0].PartialFingerprints[FingerprintKey]
	}
	want := fp(base())
	if got := fp(base()); got != want {
		t.Fatalf("fingerprint not deterministic: %s vs %s", got, want)
	}
	same := map[string]func(*audit.Result){
		"line":    func(r *audit.Result) { r.Packages[0].Line = 900 },
		"message": func(r *audit.Result) { r.Packages[0].Findings[0].Message = "other words" },
		"reason":  func(r *audit.Result) { r.Packages[0].Reason = "other reason" },
	}
	for name, mutate := range same {
		r := base()
		mutate(r)
		if got := fp(r); got != want {
			t.Errorf("changing the %s changed the fingerprint", name)
		}
	}
	differ := map[string]func(*audit.Result){
		"rule":      func(r *audit.Result) { r.Packages[0].Findings[0].Rule = audit.RuleProvenanceMissing },
		"name":      func(r *audit.Result) { r.Packages[0].Name = "b" },
		"version":   func(r *audit.Result) { r.Packages[0].Version = "1.0.1" },
		"integrity": func(r *audit.Result) { r.Packages[0].Integrity = integrity("x") },
	}
	for name, mutate := range differ {
		r := base()
		mutate(r)
		if got := fp(r); got == want {
			t.Errorf("changing the %s kept the fingerprint", name)
		}
	}
}

func TestArtifactLocation(t *testing.T) {
	tests := []struct {
		path, uri, base string
	}{
		{"package-lock.json", "package-lock.json", "%SRCROOT%"},
		{"./app/package-lock.json", "app/package-lock.json", "%SRCROOT%"},
		{`web\app\npm-shrinkwrap.json`, "web/app/npm-shrinkwrap.json", "%SRCROOT%"},
		{"my app/package-lock.json", "my%20app/package-lock.json", "%SRCROOT%"},
		{"a:b/package-lock.json", "./a:b/package-lock.json", "%SRCROOT%"},
		{"/home/ci/repo/package-lock.json", "file:///home/ci/repo/package-lock.json", ""},
		{`C:\work\repo\package-lock.json`, "file:///C:/work/repo/package-lock.json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := artifactLocation(tt.path)
			if got.URI != tt.uri || got.URIBaseID != tt.base {
				t.Errorf("artifactLocation(%q) = %+v, want uri %q base %q", tt.path, got, tt.uri, tt.base)
			}
		})
	}
}

func TestSARIFNeedsLockfilePath(t *testing.T) {
	r := mixedResult()
	r.Lockfile.Path = ""
	var buf bytes.Buffer
	err := SARIF(&buf, r)
	if !errors.Is(err, ErrInvalidResult) {
		t.Fatalf("err = %v, want ErrInvalidResult", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes on error", buf.Len())
	}
}
