package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// fakeNpm puts an npm that runs script (sh) first on PATH.
func fakeNpm(t *testing.T, script string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "npm"), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// npm config get registry answers the default registry; "undefined" is
// none.
func TestNpmRegistry(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell script")
	}
	fakeNpm(t, `[ "$*" = "config get registry" ] && [ "$PWD" = / ] && echo https://registry.invalid/`)
	if got, err := npmRegistry(context.Background()); got != "https://registry.invalid/" || err != nil {
		t.Fatalf("npmRegistry() = %q, %v", got, err)
	}
	fakeNpm(t, "echo undefined")
	if got, err := npmRegistry(context.Background()); got != "" || err != nil {
		t.Fatalf("undefined: npmRegistry() = %q, %v", got, err)
	}
}

// An npm that hangs ends with the run's context (a signal), not after
// npmTimeout: it must not outlive provaudit.
func TestNpmRegistryEndsWithTheRun(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell script")
	}
	fakeNpm(t, "exec sleep 60")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	got, err := npmRegistryIn(ctx)()
	if err == nil || got != "" {
		t.Fatalf("npmRegistry() = %q, %v; want an error", got, err)
	}
	if d := time.Since(start); d > npmTimeout/2 {
		t.Fatalf("npm ran %v after the run ended", d)
	}
}
