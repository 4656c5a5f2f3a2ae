package report

import (
	"slices"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	got := []string{"1.10.0", "not-semver", "1.9.0", "1.10.0-rc.1", "0.9.12", "1.2.3+build", ""}
	slices.SortStableFunc(got, compareVersions)
	want := []string{"0.9.12", "1.2.3+build", "1.9.0", "1.10.0-rc.1", "1.10.0", "", "not-semver"}
	if !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}
