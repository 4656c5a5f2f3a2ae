package trustupdate

import (
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/verify"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDescribeEmbeddedMaterial(t *testing.T) {
	entries, err := DescribeTrustedRoot(verify.EmbeddedTrustedRoot())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		end := "-"
		if !e.End.IsZero() {
			end = e.End.UTC().Format(time.DateOnly)
		}
		got = append(got, e.Kind+" "+e.Name+" "+e.Start.UTC().Format(time.DateOnly)+" "+end)
	}
	want := []string{
		"Fulcio CA https://fulcio.sigstore.dev 2021-03-07 2022-12-31",
		"Fulcio CA https://fulcio.sigstore.dev 2022-04-13 -",
		"Rekor log https://rekor.sigstore.dev 2021-01-12 -",
		"Rekor log https://log2025-1.rekor.sigstore.dev 2025-09-23 -",
		"CT log https://ctfe.sigstore.dev/test 2021-03-14 2022-10-31",
		"CT log https://ctfe.sigstore.dev/2022 2022-10-20 -",
		"timestamp authority https://timestamp.sigstore.dev/api/v1/timestamp 2025-07-04 -",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range entries {
		if (e.Kind == KindRekorLog || e.Kind == KindCTLog) && len(e.LogID) != 64 {
			t.Fatalf("%s %s: log id %q", e.Kind, e.Name, e.LogID)
		}
	}

	keys, err := DescribeNpmKeys(verify.EmbeddedNpmKeys())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 || keys[0].Usage != verify.UsageSignatures || !keys[0].Start.Equal(date("1999-01-01T00:00:00Z")) ||
		!keys[3].End.IsZero() || !strings.HasPrefix(keys[3].Name, "SHA256:DhQ8wR") {
		t.Fatalf("keys %+v", keys)
	}

	if _, err := DescribeTrustedRoot([]byte("{}")); err == nil {
		t.Fatal("an empty trusted root was described")
	}
	if _, err := DescribeNpmKeys([]byte(`{"keys":[]}`)); err == nil {
		t.Fatal("an empty key list was described")
	}
}

func TestEntryStatus(t *testing.T) {
	e := Entry{Start: date("2025-01-01T00:00:00Z"), End: date("2025-02-01T00:00:00Z")}
	for at, want := range map[string]string{
		"2024-12-31T23:59:59Z": "not yet valid",
		"2025-01-01T00:00:00Z": "valid",
		"2025-01-31T23:59:59Z": "valid",
		"2025-02-01T00:00:00Z": "ended", // valid strictly before its end
	} {
		if got := e.Status(date(at)); got != want {
			t.Errorf("Status(%s) = %s, want %s", at, got, want)
		}
	}
	if got := (&Entry{}).Status(date("2025-01-01T00:00:00Z")); got != "valid" {
		t.Errorf("unbounded: %s", got)
	}
}

func TestWarnings(t *testing.T) {
	keys, err := DescribeNpmKeys(verify.EmbeddedNpmKeys())
	if err != nil {
		t.Fatal(err)
	}
	// Ten days before the old npm key ended: both of its usages warn.
	now := date("2025-01-19T00:00:00Z")
	w := Warnings("npm keys", keys, now.Add(-24*time.Hour), now)
	if len(w) != 2 || !strings.Contains(w[0], "npm keys: npm key SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA (npm:signatures) ends on 2025-01-29, in 10 days") {
		t.Fatalf("warnings %q", w)
	}
	// 31 days before: none.
	if w := Warnings("npm keys", keys, now, date("2024-12-29T00:00:00Z")); len(w) != 0 {
		t.Fatalf("warnings %q", w)
	}
	// After it ended: it is no longer in use, so no warning.
	if w := Warnings("npm keys", keys, time.Time{}, date("2025-02-01T00:00:00Z")); len(w) != 0 {
		t.Fatalf("warnings %q", w)
	}
	// Material older than 90 days.
	asOf := date("2025-06-01T00:00:00Z")
	w = Warnings("trusted root", nil, asOf, asOf.Add(StaleAfter+24*time.Hour))
	if len(w) != 1 || !strings.Contains(w[0], "trusted root is 91 days old (as of 2025-06-01), more than 90") {
		t.Fatalf("warnings %q", w)
	}
	if w := Warnings("trusted root", nil, asOf, asOf.Add(StaleAfter)); len(w) != 0 {
		t.Fatalf("at exactly 90 days: %q", w)
	}
}
