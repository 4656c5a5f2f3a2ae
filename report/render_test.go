package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/audit"
)

func TestRenderDispatch(t *testing.T) {
	direct := map[string]func(*bytes.Buffer, *audit.Result, Options) error{
		"table":     func(b *bytes.Buffer, r *audit.Result, o Options) error { return Table(b, r, o) },
		"json":      func(b *bytes.Buffer, r *audit.Result, _ Options) error { return JSON(b, r) },
		"sarif":     func(b *bytes.Buffer, r *audit.Result, _ Options) error { return SARIF(b, r) },
		"markdown":  func(b *bytes.Buffer, r *audit.Result, o Options) error { return Markdown(b, r, o) },
		"cyclonedx": func(b *bytes.Buffer, r *audit.Result, _ Options) error { return CycloneDX(b, r) },
		"spdx":      func(b *bytes.Buffer, r *audit.Result, _ Options) error { return SPDX(b, r) },
	}
	if len(direct) != len(Formats) {
		t.Fatalf("Formats = %v, test knows %d", Formats, len(direct))
	}
	opts := Options{All: true, Color: true, Width: 90}
	for _, f := range Formats {
		t.Run(f, func(t *testing.T) {
			var got, want bytes.Buffer
			if err := Render(&got, f, mixedResult(), opts); err != nil {
				t.Fatal(err)
			}
			if err := direct[f](&want, mixedResult(), opts); err != nil {
				t.Fatal(err)
			}
			if got.Len() == 0 || !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("Render(%q) differs from the format's own function", f)
			}
		})
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	for _, f := range []string{"", "xml", "JSON", "table "} {
		var buf bytes.Buffer
		err := Render(&buf, f, mixedResult(), Options{})
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("Render(%q) = %v, want ErrUnknownFormat", f, err)
		}
		if err != nil && !strings.Contains(err.Error(), "table, json, sarif, markdown") {
			t.Errorf("error %q does not list the formats", err)
		}
		if buf.Len() != 0 {
			t.Errorf("Render(%q) wrote %d bytes", f, buf.Len())
		}
	}
}

// TestInvalidResult: every format refuses a result that breaks the
// contract, names what is wrong, and writes nothing.
func TestInvalidResult(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*audit.Result) *audit.Result
		want   string
	}{
		{"nil", func(*audit.Result) *audit.Result { return nil }, "nil result"},
		{"schema version 0", func(r *audit.Result) *audit.Result { r.SchemaVersion = 0; return r }, "schemaVersion 0"},
		{"schema version 1", func(r *audit.Result) *audit.Result { r.SchemaVersion = 1; return r }, "schemaVersion 1"},
		{"schema version 3", func(r *audit.Result) *audit.Result { r.SchemaVersion = 3; return r }, "schemaVersion 3"},
		{"empty status", func(r *audit.Result) *audit.Result { r.Packages[4].Status = ""; return r }, `chalk@5.3.0): status ""`},
		{"unknown status", func(r *audit.Result) *audit.Result { r.Packages[0].Status = "ok"; return r }, `status "ok"`},
		{"line 0", func(r *audit.Result) *audit.Result { r.Packages[1].Line = 0; return r }, "line 0"},
		{"signature status", func(r *audit.Result) *audit.Result { r.Packages[1].RegistrySignature.Status = "good"; return r }, `registrySignature.status "good"`},
		{"attestation status", func(r *audit.Result) *audit.Result {
			r.Packages[1].Attestations = &audit.AttestationCheck{Status: "unsupported"}
			return r
		}, `attestations.status "unsupported"`},
		{"severity", func(r *audit.Result) *audit.Result { r.Packages[7].Findings[0].Severity = "severe"; return r }, `severity "severe"`},
		{"rule", func(r *audit.Result) *audit.Result { r.Packages[7].Findings[0].Rule = ""; return r }, "has no rule"},
		{"rule not UTF-8", func(r *audit.Result) *audit.Result { r.Packages[7].Findings[0].Rule = "bad-\xff"; return r }, "not valid UTF-8"},
	}
	for _, tt := range tests {
		for _, f := range Formats {
			t.Run(tt.name+"/"+f, func(t *testing.T) {
				var buf bytes.Buffer
				err := Render(&buf, f, tt.mutate(mixedResult()), Options{All: true})
				if !errors.Is(err, ErrInvalidResult) {
					t.Fatalf("err = %v, want ErrInvalidResult", err)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %q does not say %q", err, tt.want)
				}
				if buf.Len() != 0 {
					t.Errorf("wrote %d bytes for an invalid result", buf.Len())
				}
			})
		}
	}
}

func TestInvalidResultListsSeveralProblems(t *testing.T) {
	r := mixedResult()
	for i := range r.Packages {
		r.Packages[i].Line = 0
	}
	err := JSON(&bytes.Buffer{}, r)
	if got := strings.Count(err.Error(), "line 0"); got != 10 || !strings.Contains(err.Error(), "further packages not checked") {
		t.Errorf("error lists %d problems:\n%v", got, err)
	}
}

type failingWriter struct{}

var errDiskFull = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestWriteError(t *testing.T) {
	for _, f := range Formats {
		err := Render(failingWriter{}, f, mixedResult(), Options{})
		if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "writing "+f) {
			t.Errorf("%s: err = %v, want the writer's error wrapped", f, err)
		}
	}
}

// TestRenderDoesNotModify: renderers sort and normalise copies, never the
// caller's result.
func TestRenderDoesNotModify(t *testing.T) {
	for _, f := range Formats {
		r := hostileResult()
		before := jsonOf(t, r)
		if err := Render(&bytes.Buffer{}, f, r, Options{All: true}); err != nil {
			t.Fatal(err)
		}
		if r.Packages[1].Paths != nil || r.Packages[1].Findings != nil {
			t.Errorf("%s filled nil slices of the input", f)
		}
		if after := jsonOf(t, r); after != before {
			t.Errorf("%s modified its input", f)
		}
	}
}

func jsonOf(t testing.TB, r *audit.Result) string {
	t.Helper()
	var buf bytes.Buffer
	if err := JSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
