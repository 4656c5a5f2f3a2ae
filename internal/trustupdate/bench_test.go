package trustupdate

import "testing"

// BenchmarkResolve measures what every audit adds when a stored update
// exists: reading it, verifying the TUF chain and targets, dating both
// pieces. BenchmarkResolveNothingStored is the same without an update.
func BenchmarkResolve(b *testing.B) {
	e := newTUFEnv(b)
	if _, err := Update(b.Context(), e.options()); err != nil {
		b.Fatal(err)
	}
	opts := LoadOptions{CacheDir: e.cache, Root: e.repo.Root()}
	for b.Loop() {
		if _, err := Resolve(opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolveNothingStored(b *testing.B) {
	opts := LoadOptions{CacheDir: b.TempDir()}
	for b.Loop() {
		if _, err := Resolve(opts); err != nil {
			b.Fatal(err)
		}
	}
}
