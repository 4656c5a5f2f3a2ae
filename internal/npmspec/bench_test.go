package npmspec

import "testing"

// The checks run once per lockfile entry; lockfile's BenchmarkParse shows
// what they cost in a whole parse.
// Run: go test -run '^$' -bench . -benchmem -cpu 1 ./internal/npmspec
func BenchmarkParseIntegrity(b *testing.B) {
	for name, s := range map[string]string{"sha512": s512, "sha512+sha1": s512 + " " + s1} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseIntegrity(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidName(b *testing.B) {
	for b.Loop() {
		if err := ValidName("@scope/some-package.name"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidVersion(b *testing.B) {
	for name, v := range map[string]string{"plain": "12.3.4", "prerelease": "12.3.4-rc.1+build.5"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if err := ValidVersion(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
