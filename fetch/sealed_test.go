package fetch

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestSealed(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.secret = bytes.Repeat([]byte{1}, SecretSize)
	if err := c.PutSealed("k1", []byte("verdict: ok")); err != nil {
		t.Fatal(err)
	}
	if d, ok := c.GetSealed("k1"); !ok || string(d) != "verdict: ok" {
		t.Fatalf("GetSealed = %q, %t", d, ok)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	raw, ok := c.Get("k1")
	if !ok {
		t.Fatal("no raw record")
	}

	// Read back by another Cache on the same directory.
	reopen := func(secret []byte) *Cache {
		t.Helper()
		c2, err := OpenCache(dir)
		if err != nil {
			t.Fatal(err)
		}
		if secret != nil {
			c2.secret = secret
		}
		return c2
	}
	if d, ok := reopen(c.secret).GetSealed("k1"); !ok || string(d) != "verdict: ok" {
		t.Fatalf("same secret, new Cache: %q, %t", d, ok)
	}
	for name, c2 := range map[string]*Cache{
		"another secret":               reopen(bytes.Repeat([]byte{2}, SecretSize)),
		"a fresh secret (the default)": reopen(nil),
	} {
		if d, ok := c2.GetSealed("k1"); ok {
			t.Errorf("%s: read %q", name, d)
		}
	}

	// A sealed record moved to another key, data edited, or data without a
	// MAC: all misses.
	forge := map[string][]byte{
		"moved":     raw,
		"edited":    append([]byte("verdict: OK"), raw[len("verdict: ok"):]...),
		"no MAC":    []byte("verdict: ok"),
		"truncated": raw[:10],
	}
	for name, data := range forge {
		if err := c.Put("forged/"+name, data); err != nil {
			t.Fatal(err)
		}
		if d, ok := c.GetSealed("forged/" + name); ok {
			t.Errorf("%s record read as %q", name, d)
		}
	}
	// A disabled cache stores nothing and finds nothing.
	var off *Cache
	if err := off.PutSealed("k", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, ok := off.GetSealed("k"); ok {
		t.Fatal("disabled cache hit")
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cfg", "provaudit", "cache-secret")

	if b, err := LoadSecret(path, false); b != nil || err != nil {
		t.Fatalf("missing, create=false: %x, %v", b, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("create=false made a file: %v", err)
	}
	first, err := LoadSecret(path, true)
	if err != nil || len(first) != SecretSize {
		t.Fatalf("create: %x, %v", first, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v, %v", st.Mode().Perm(), err)
	}
	if again, err := LoadSecret(path, true); err != nil || !bytes.Equal(again, first) {
		t.Fatalf("second load: %x, %v", again, err)
	}

	// Concurrent first runs agree on one secret.
	path2 := filepath.Join(dir, "race", "cache-secret")
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := LoadSecret(path2, true)
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		}()
	}
	wg.Wait()
	for _, b := range got[1:] {
		if !bytes.Equal(b, got[0]) {
			t.Fatalf("concurrent runs got different secrets")
		}
	}

	bad := func(name string, mode os.FileMode, content []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, p := range map[string]string{
		"readable by others": bad("open", 0o644, first),
		"short":              bad("short", 0o600, first[:10]),
		"long":               bad("long", 0o600, append(first, 1)),
		"empty":              bad("empty", 0o600, nil),
		"a folder":           t.TempDir(),
	} {
		if b, err := LoadSecret(p, true); b != nil || !errors.Is(err, ErrSecret) {
			t.Errorf("%s: %x, %v; want ErrSecret", name, b, err)
		}
	}
}

func TestSecretInside(t *testing.T) {
	for _, tt := range []struct {
		secret, cache string
		want          bool
	}{
		{"/home/u/.config/provaudit/cache-secret", "/home/u/.cache/provaudit", false},
		{"/home/u/.config/provaudit/cache-secret", "/home/u/.config", true},
		{"/home/u/.config/provaudit/cache-secret", "/home/u/.config/provaudit", true},
		{"/home/u/.config/provaudit/cache-secret", "/", true},
		{"/home/u/.config/provaudit/cache-secret", "/home/u/.config/prov", false},
	} {
		if got := SecretInside(tt.secret, tt.cache); got != tt.want {
			t.Errorf("SecretInside(%s, %s) = %t", tt.secret, tt.cache, got)
		}
	}
}
