package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/provaudit/provaudit/internal/evidence/evidencetest"
)

func unpack(t testing.TB, data []byte) []evidencetest.Entry {
	t.Helper()
	e, err := evidencetest.Unpack(data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func pack(t testing.TB, entries []evidencetest.Entry, level int) []byte {
	t.Helper()
	out, err := evidencetest.Pack(entries, level)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func edit(t testing.TB, data []byte, fn func([]evidencetest.Entry) ([]evidencetest.Entry, error)) []byte {
	t.Helper()
	e, err := fn(unpack(t, data))
	if err != nil {
		t.Fatal(err)
	}
	return pack(t, e, gzip.DefaultCompression)
}

// editManifest rewrites the manifest of a bundle: fn gets it decoded into
// v (a *Manifest or a *map[string]any) and the result is encoded again.
func editManifest[V any](t testing.TB, data []byte, fn func(*V)) []byte {
	t.Helper()
	return edit(t, data, func(e []evidencetest.Entry) ([]evidencetest.Entry, error) {
		j, err := evidencetest.Find(e, ManifestName)
		if err != nil {
			return nil, err
		}
		var v V
		if err := json.Unmarshal(e[j].Data, &v); err != nil {
			return nil, err
		}
		fn(&v)
		e[j].Data, err = json.Marshal(v)
		return e, err
	})
}

// mustFail reads data and checks the error is ErrBundle naming member (as
// a MemberError) with a problem containing want.
func mustFail(t *testing.T, data []byte, lim Limits, member, want string) {
	t.Helper()
	_, err := Read(bytes.NewReader(data), lim)
	mustError(t, err, ErrBundle, member, want)
}

// mustError checks that err is target and names member (as a MemberError)
// with a problem containing want; with no member, that it says want.
func mustError(t *testing.T, err, target error, member, want string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	if member == "" {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want it to say %q", err, want)
		}
		return
	}
	if me := memberError(err, member); me == nil || !strings.Contains(me.Problem, want) {
		t.Fatalf("err = %v, want member %s: ...%s...", err, member, want)
	}
}

// TestReadTamperedMembers: one byte changed in any one member is refused
// naming that member, and so is a missing or an unlisted one.
func TestReadTamperedMembers(t *testing.T) {
	data, _ := testBundle(t)
	b, err := Read(bytes.NewReader(data), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	for _, mem := range b.Manifest.Members {
		if mem.Size == 0 {
			continue
		}
		t.Run(mem.Name, func(t *testing.T) {
			mustFail(t, edit(t, data, func(e []evidencetest.Entry) ([]evidencetest.Entry, error) { return evidencetest.Flip(e, mem.Name) }),
				DefaultLimits, mem.Name, "changed: ")
			mustFail(t, edit(t, data, func(e []evidencetest.Entry) ([]evidencetest.Entry, error) { return evidencetest.Drop(e, mem.Name) }),
				DefaultLimits, mem.Name, "listed in the manifest but missing")
		})
	}
	extra := edit(t, data, func(e []evidencetest.Entry) ([]evidencetest.Entry, error) {
		return append(e, evidencetest.Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "responses/extra", Mode: 0o644}, Data: []byte("{}")}), nil
	})
	mustFail(t, extra, DefaultLimits, "responses/extra", "not listed in the manifest")
	noManifest := edit(t, data, func(e []evidencetest.Entry) ([]evidencetest.Entry, error) { return evidencetest.Drop(e, ManifestName) })
	mustFail(t, noManifest, DefaultLimits, ManifestName, "missing: this is not a provaudit evidence bundle")
	// A byte changed in the manifest's digest of a member names the member.
	changed := editManifest(t, data, func(m *Manifest) { m.Members[0].SHA256 = strings.Repeat("0", 64) })
	mustFail(t, changed, DefaultLimits, b.Manifest.Members[0].Name, "the manifest says")
}

// TestReadRepacked: another member order, compression level, "./" names
// and folder entries read as the same bundle.
func TestReadRepacked(t *testing.T) {
	data, _ := testBundle(t)
	want, err := Read(bytes.NewReader(data), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	entries := unpack(t, data)
	rev, _ := evidencetest.Reverse(entries)
	dotted := []evidencetest.Entry{{Header: tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755}}, {Header: tar.Header{Typeflag: tar.TypeDir, Name: "./responses/", Mode: 0o755}}}
	for _, e := range entries {
		e.Header.Name = "./" + e.Header.Name
		dotted = append(dotted, e)
	}
	for name, repacked := range map[string][]byte{
		"reversed, no compression": pack(t, rev, gzip.NoCompression),
		"reversed, best":           pack(t, rev, gzip.BestCompression),
		"./ names and folders":     pack(t, dotted, gzip.BestSpeed),
	} {
		got, err := Read(bytes.NewReader(repacked), DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got.members) != len(want.members) {
			t.Fatalf("%s: %d members, want %d", name, len(got.members), len(want.members))
		}
		for n, d := range want.members {
			if !bytes.Equal(got.members[n], d) {
				t.Errorf("%s: member %s differs", name, n)
			}
		}
	}
}

// TestReadHostile refuses archives that are not plain bundles: every case
// names the entry and what is wrong.
func TestReadHostile(t *testing.T) {
	data, _ := testBundle(t)
	base := unpack(t, data)
	reg := func(name string, body string) evidencetest.Entry {
		return evidencetest.Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644}, Data: []byte(body)}
	}
	for _, c := range []struct {
		name, member, want string
		entry              evidencetest.Entry
	}{
		{"parent", `"../etc/passwd"`, `must not contain ".."`, reg("../etc/passwd", "x")},
		{"inner parent", `"responses/../../x"`, `must not contain ".."`, reg("responses/../../x", "x")},
		{"absolute", `"/etc/passwd"`, "without empty elements", reg("/etc/passwd", "x")},
		{"double slash", `"responses//x"`, "without empty elements", reg("responses//x", "x")},
		{"dot", `"responses/./x"`, `must not contain "."`, reg("responses/./x", "x")},
		{"backslash", `"..\\x"`, `character '\\' is not allowed`, reg(`..\x`, "x")},
		{"control", `"a\nb"`, "is not allowed", reg("a\nb", "x")},
		{"long", `"` + strings.Repeat("a", 80) + `..."`, "1 to 128 characters", reg(strings.Repeat("a", 200), "x")},
		{"folder traversal", `"../d/"`, `must not contain ".."`, evidencetest.Entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: "../d/", Mode: 0o755}}},
		{"symlink", "responses/000001", `is a link (to "/etc/passwd")`, evidencetest.Entry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: "responses/000001", Linkname: "/etc/passwd"}}},
		{"hard link", "evil", `is a link (to "manifest.json")`, evidencetest.Entry{Header: tar.Header{Typeflag: tar.TypeLink, Name: "evil", Linkname: "manifest.json"}}},
		{"device", "dev", "is not a regular file (tar type '3')", evidencetest.Entry{Header: tar.Header{Typeflag: tar.TypeChar, Name: "dev", Devmajor: 1, Devminor: 3}}},
		{"fifo", "fifo", "is not a regular file (tar type '6')", evidencetest.Entry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo"}}},
		{"duplicate", ManifestName, "appears twice", base[0]},
	} {
		t.Run(c.name, func(t *testing.T) {
			entries := append([]evidencetest.Entry{c.entry}, base...)
			if c.name == "duplicate" {
				entries = append(base, c.entry)
			}
			mustFail(t, pack(t, entries, gzip.BestSpeed), DefaultLimits, c.member, c.want)
		})
	}
	t.Run("global header", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "g", PAXRecords: map[string]string{"comment": "x"}}); err != nil {
			t.Fatal(err)
		}
		tw.Close()
		zw.Close()
		mustFail(t, buf.Bytes(), DefaultLimits, "g", "is not a regular file (tar type 'g')")
	})
	t.Run("not gzip", func(t *testing.T) { mustFail(t, []byte("{}"), DefaultLimits, "", "not a gzip file") })
	t.Run("not tar", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(bytes.Repeat([]byte("x"), 2000))
		zw.Close()
		mustFail(t, buf.Bytes(), DefaultLimits, "", "not a valid tar archive")
	})
	t.Run("truncated", func(t *testing.T) { mustFail(t, data[:len(data)/2], DefaultLimits, "", "evidence bundle") })
	t.Run("trailing data", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		for _, e := range base {
			h := e.Header
			tw.WriteHeader(&h)
			tw.Write(e.Data)
		}
		tw.Close()
		zw.Write(make([]byte, maxTrailer+1))
		zw.Close()
		mustFail(t, buf.Bytes(), DefaultLimits, "", "follow the archive")
	})
}

// TestReadLimits refuses bundles over each limit before reading what is
// over it: a member whose header claims more than the limit, more entries
// than allowed, and members that exceed the total.
func TestReadLimits(t *testing.T) {
	data, _ := testBundle(t)
	base := unpack(t, data)
	lim := Limits{MaxMembers: 50, MaxMemberSize: 1 << 20, MaxTotal: 4 << 20}
	if _, err := Read(bytes.NewReader(data), lim); err != nil {
		t.Fatalf("a bundle within the limits: %v", err)
	}

	t.Run("huge member", func(t *testing.T) {
		// A header that claims 1 TiB, followed by nothing: refused at the
		// header, nothing allocated for it.
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "responses/000001", Size: 1 << 40, Mode: 0o644})
		zw.Close()
		mustFail(t, buf.Bytes(), lim, "responses/000001", "1099511627776 bytes, more than 1048576")
	})
	t.Run("claims more than arrives", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "responses/000001", Size: lim.MaxMemberSize, Mode: 0o644})
		tw.Write([]byte("short"))
		zw.Close()
		mustFail(t, buf.Bytes(), lim, "responses/000001", "truncated: unexpected EOF")
	})
	t.Run("too many members", func(t *testing.T) {
		entries := append([]evidencetest.Entry{}, base...)
		for i := range 60 {
			entries = append(entries, evidencetest.Entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: "d" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + "/", Mode: 0o755}})
		}
		mustFail(t, pack(t, entries, gzip.BestSpeed), lim, "", "more than 50 entries")
	})
	t.Run("total", func(t *testing.T) {
		// A gzip bomb: members of zeros, each within the member limit,
		// together over the total.
		entries := append([]evidencetest.Entry{}, base...)
		zeros := make([]byte, lim.MaxMemberSize)
		for i := range 8 {
			entries = append(entries, evidencetest.Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: "z" + string(rune('a'+i)), Mode: 0o644}, Data: zeros})
		}
		bomb := pack(t, entries, gzip.BestCompression)
		if len(bomb) > 100<<10 {
			t.Fatalf("the bomb is %d bytes compressed", len(bomb))
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		mustFail(t, bomb, lim, "", "the members exceed 4194304 bytes together")
		runtime.ReadMemStats(&after)
		// Generous: the bundle and what fits in the total, not 8 MiB of
		// zeros and more.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 3*uint64(lim.MaxTotal) {
			t.Fatalf("reading the bomb allocated %d bytes, limit %d", grew, lim.MaxTotal)
		}
	})
	t.Run("manifest lists too many", func(t *testing.T) {
		phantoms := editManifest(t, data, func(m *Manifest) {
			for i := range 20 {
				m.Members = append(m.Members, Member{Name: "p" + string(rune('a'+i)), SHA256: strings.Repeat("0", 64)})
			}
		})
		mustFail(t, phantoms, Limits{MaxMembers: 12, MaxMemberSize: 1 << 20, MaxTotal: 4 << 20}, ManifestName, "lists 28 members, more than 12")
	})
}

// TestReadManifestChecks refuses manifests that are malformed or say
// something impossible, naming manifest.json.
func TestReadManifestChecks(t *testing.T) {
	data, _ := testBundle(t)
	for _, c := range []struct {
		name, want string
		edit       func(m map[string]any)
	}{
		{"format", `format "other", want "provaudit-evidence/v1"`, func(m map[string]any) { m["format"] = "other" }},
		{"unknown field", `unknown field "extra"`, func(m map[string]any) { m["extra"] = 1 }},
		{"no recording time", "no recording time", func(m map[string]any) { m["recorded"] = "0001-01-01T00:00:00Z" }},
		{"lockfile digest", "lockfile sha256", func(m map[string]any) { m["lockfile"].(map[string]any)["sha256"] = "x" }},
		{"registry URL", `"file:///x" is not an http(s) URL`, func(m map[string]any) { m["registries"].(map[string]any)["default"] = "file:///x" }},
		{"named by", `namedBy "me"`, func(m map[string]any) {
			m["registries"].(map[string]any)["used"].([]any)[0].(map[string]any)["namedBy"] = "me"
		}},
		{"trust member", `trust.npmKeys refers to member "trust/other"`, func(m map[string]any) {
			m["trust"].(map[string]any)["npmKeys"].(map[string]any)["member"] = "trust/other"
		}},
		{"trust kind", `trust.trustedRoot: kind "bundle"`, func(m map[string]any) { m["trust"].(map[string]any)["trustedRoot"].(map[string]any)["kind"] = "bundle" }},
		{"response member", `refers to member "responses/999999"`, func(m map[string]any) { m["responses"].([]any)[0].(map[string]any)["member"] = "responses/999999" }},
		{"status", "status 42", func(m map[string]any) { m["responses"].([]any)[0].(map[string]any)["status"] = 42 }},
		{"duplicate request", "is recorded twice", func(m map[string]any) {
			rs := m["responses"].([]any)
			rs[1].(map[string]any)["url"], rs[1].(map[string]any)["accept"] = rs[0].(map[string]any)["url"], rs[0].(map[string]any)["accept"]
		}},
		{"member name", `member name "../x" is not valid`, func(m map[string]any) { m["members"].([]any)[0].(map[string]any)["name"] = "../x" }},
		{"member digest", "is not a hex SHA-256", func(m map[string]any) { m["members"].([]any)[0].(map[string]any)["sha256"] = strings.Repeat("AB", 32) }},
		{"member size", "size -1", func(m map[string]any) { m["members"].([]any)[0].(map[string]any)["size"] = -1 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := editManifest(t, data, func(m *map[string]any) { c.edit(*m) })
			mustFail(t, bad, DefaultLimits, ManifestName, c.want)
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		bad := edit(t, data, func(e []evidencetest.Entry) ([]evidencetest.Entry, error) {
			j, _ := evidencetest.Find(e, ManifestName)
			e[j].Data = append(e[j].Data, '{')
			return e, nil
		})
		mustFail(t, bad, DefaultLimits, ManifestName, "malformed")
	})
}

// gunzip returns the tar archive inside a bundle.
func gunzip(t testing.TB, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzRead feeds tar archives (gzipped here, so that the fuzzer mutates the
// archive, not the compression): Read returns a bundle whose members all
// match its manifest, or ErrBundle; it never panics nor exceeds its limits.
func FuzzRead(f *testing.F) {
	data, _ := testBundle(f)
	f.Add(gunzip(f, data))
	f.Add([]byte{})
	for _, e := range []evidencetest.Entry{
		{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: "a", Linkname: "/"}},
		{Header: tar.Header{Typeflag: tar.TypeReg, Name: "../a", Mode: 0o644}, Data: []byte("x")},
		{Header: tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Mode: 0o644}, Data: []byte(`{"format":"provaudit-evidence/v1"}`)},
	} {
		out, err := evidencetest.Pack([]evidencetest.Entry{e}, gzip.NoCompression)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(gunzip(f, out))
	}
	lim := Limits{MaxMembers: 100, MaxMemberSize: 1 << 20, MaxTotal: 4 << 20}
	f.Fuzz(func(t *testing.T, archive []byte) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression)
		zw.Write(archive)
		zw.Close()
		checkRead(t, buf.Bytes(), lim)
	})
}

// FuzzManifest puts arbitrary manifests beside the test bundle's members.
func FuzzManifest(f *testing.F) {
	data, _ := testBundle(f)
	entries := unpack(f, data)
	j, err := evidencetest.Find(entries, ManifestName)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(entries[j].Data)
	f.Add([]byte(`{"format":"provaudit-evidence/v1","members":[{"name":"a","sha256":"","size":1}]}`))
	lim := Limits{MaxMembers: 100, MaxMemberSize: 1 << 20, MaxTotal: 4 << 20}
	f.Fuzz(func(t *testing.T, manifest []byte) {
		e := append([]evidencetest.Entry{}, entries...)
		e[j].Data = manifest
		out, err := evidencetest.Pack(e, gzip.NoCompression)
		if err != nil {
			t.Fatal(err)
		}
		checkRead(t, out, lim)
	})
}

func checkRead(t *testing.T, bundle []byte, lim Limits) {
	b, err := Read(bytes.NewReader(bundle), lim)
	if err != nil {
		if !errors.Is(err, ErrBundle) {
			t.Fatalf("error %v is not ErrBundle", err)
		}
		return
	}
	if len(b.members) != len(b.Manifest.Members) || len(b.Manifest.Members) > lim.MaxMembers {
		t.Fatalf("%d members, the manifest lists %d", len(b.members), len(b.Manifest.Members))
	}
	for _, m := range b.Manifest.Members {
		if int64(len(b.Member(m.Name))) != m.Size || m.Size > lim.MaxMemberSize {
			t.Fatalf("member %s: %d bytes, listed with %d", m.Name, len(b.Member(m.Name)), m.Size)
		}
	}
	for _, r := range b.Manifest.Responses {
		if _, ok := b.members[r.Member]; !ok {
			t.Fatalf("response %s has no member", r.Request)
		}
	}
}
