package evidence

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Limits bound what Read accepts: a bundle may come from anyone.
type Limits struct {
	// MaxMembers bounds the archive's entries, folders included.
	MaxMembers int
	// MaxMemberSize bounds one member.
	MaxMemberSize int64
	// MaxTotal bounds the members' sizes together: what Read holds in
	// memory.
	MaxTotal int64
}

// DefaultLimits fit the evidence of a lockfile of tens of thousands of
// packages: a registry document is capped at 64 MiB by the fetch client
// (the member holds at most one byte more, which is how an oversized body
// was seen), and a typical bundle holds a few kilobytes per package.
var DefaultLimits = Limits{
	MaxMembers:    100_000,
	MaxMemberSize: 64<<20 + 1,
	MaxTotal:      512 << 20,
}

// maxTrailer bounds what may follow the archive's end in the gzip stream
// (tar writers pad to a record size with zeros).
const maxTrailer = 1 << 20

// Errors.
var (
	// ErrBundle reports a bundle that cannot be used: not a gzipped tar,
	// over a limit, a malformed manifest, or members that do not match it
	// (then the error is or joins [*MemberError]s).
	ErrBundle = errors.New("evidence bundle")
	// ErrNotRecorded reports a request the bundle holds no answer for.
	ErrNotRecorded = errors.New("not in the evidence bundle")
)

// MemberError names a member that is missing, changed, unlisted or not
// allowed.
type MemberError struct {
	Member  string
	Problem string
}

func (e *MemberError) Error() string { return "member " + e.Member + ": " + e.Problem }

// Bundle is a bundle whose every member matched its manifest when read.
type Bundle struct {
	// Manifest is the bundle's manifest.
	Manifest *Manifest
	members  map[string][]byte
	answers  map[Request]*Response
	failures map[Request]string
}

// Member returns the bytes of a listed member (nil if none).
func (b *Bundle) Member(name string) []byte { return b.members[name] }

// Open reads the bundle at path (see [Read]); errors name the file.
func Open(path string, lim Limits) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrBundle, path, err)
	}
	defer f.Close()
	b, err := Read(f, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// Read reads a bundle: a gzipped tar of regular files (folders are
// ignored; links and any other kind of entry are refused) with clean
// relative names, one of them manifest.json. Every member must be listed in
// the manifest with its size and SHA-256 and every listed member present;
// the errors name each member that is not. Nothing beyond lim is read or
// held. The members are untrusted data still: the caller verifies them as
// it verifies anything from a registry.
func Read(r io.Reader, lim Limits) (*Bundle, error) {
	members, err := readArchive(r, lim)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	raw, ok := members[ManifestName]
	if !ok {
		return nil, fmt.Errorf("%w: %w", ErrBundle, &MemberError{ManifestName, "missing: this is not a provaudit evidence bundle"})
	}
	delete(members, ManifestName)
	m, err := parseManifest(raw, lim)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, &MemberError{ManifestName, err.Error()})
	}
	if err := checkMembers(m, members); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	b := &Bundle{Manifest: m, members: members, answers: map[Request]*Response{}, failures: map[Request]string{}}
	for i := range m.Responses {
		b.answers[m.Responses[i].Request] = &m.Responses[i]
	}
	for _, f := range m.Failures {
		b.failures[f.Request] = f.Error
	}
	return b, nil
}

// readArchive reads every regular member into memory within lim.
func readArchive(r io.Reader, lim Limits) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", err)
	}
	tr := tar.NewReader(zr)
	members := map[string][]byte{}
	var total int64
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a valid tar archive: %w", err)
		}
		if entries >= lim.MaxMembers {
			return nil, fmt.Errorf("more than %d entries", lim.MaxMembers)
		}
		if hdr.Typeflag == tar.TypeDir {
			// Folders hold nothing; a name that would be refused for a
			// file is refused for a folder too.
			if d := strings.TrimSuffix(hdr.Name, "/"); d != "." && d != "" {
				if _, err := cleanName(d); err != nil {
					return nil, &MemberError{fmt.Sprintf("%q", clip(hdr.Name)), err.Error()}
				}
			}
			continue
		}
		name, err := cleanName(hdr.Name)
		if err != nil {
			return nil, &MemberError{fmt.Sprintf("%q", clip(hdr.Name)), err.Error()}
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
		case tar.TypeSymlink, tar.TypeLink:
			return nil, &MemberError{name, "is a link (to " + fmt.Sprintf("%q", clip(hdr.Linkname)) + "): only regular files are allowed"}
		default:
			return nil, &MemberError{name, fmt.Sprintf("is not a regular file (tar type %q): only regular files are allowed", hdr.Typeflag)}
		}
		if _, dup := members[name]; dup {
			return nil, &MemberError{name, "appears twice"}
		}
		if hdr.Size > lim.MaxMemberSize {
			return nil, &MemberError{name, fmt.Sprintf("%d bytes, more than %d", hdr.Size, lim.MaxMemberSize)}
		}
		if total+hdr.Size > lim.MaxTotal {
			return nil, &MemberError{name, fmt.Sprintf("the members exceed %d bytes together", lim.MaxTotal)}
		}
		total += hdr.Size
		data, err := readMember(tr, hdr.Size)
		if err != nil {
			return nil, &MemberError{name, fmt.Sprintf("truncated: %v", err)}
		}
		members[name] = data
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, maxTrailer+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("after the archive: %w", err)
	case n > maxTrailer:
		return nil, fmt.Errorf("more than %d bytes follow the archive", maxTrailer)
	}
	return members, nil
}

// preallocate is what a member's buffer starts at, at most: larger members
// grow as their bytes arrive, so that a header claiming more than arrives
// costs no more than this.
const preallocate = 4 << 20

// readMember reads exactly size bytes, allocating them once for a member up
// to preallocate bytes and doubling (up to size) beyond.
func readMember(r io.Reader, size int64) ([]byte, error) {
	buf := make([]byte, 0, min(size, preallocate))
	for int64(len(buf)) < size {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*int64(cap(buf)), size))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF && int64(len(buf)) < size:
			return nil, io.ErrUnexpectedEOF
		case err != nil && err != io.EOF:
			return nil, err
		}
	}
	return buf, nil
}

func parseManifest(raw []byte, lim Limits) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("malformed: %w", err)
	}
	if dec.More() {
		return nil, errors.New("malformed: data after the manifest")
	}
	if err := m.validate(lim); err != nil {
		return nil, err
	}
	return &m, nil
}

// maxMemberErrors bounds the members one error names.
const maxMemberErrors = 20

// checkMembers compares the members with the manifest's list.
func checkMembers(m *Manifest, members map[string][]byte) error {
	var errs []error
	listed := make(map[string]bool, len(m.Members))
	for _, mem := range m.Members {
		listed[mem.Name] = true
		data, ok := members[mem.Name]
		if !ok {
			errs = append(errs, &MemberError{mem.Name, "listed in the manifest but missing"})
			continue
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != mem.SHA256 || int64(len(data)) != mem.Size {
			errs = append(errs, &MemberError{mem.Name, fmt.Sprintf("changed: %d bytes with SHA-256 %s, the manifest says %d bytes with SHA-256 %s", len(data), got, mem.Size, mem.SHA256)})
		}
	}
	for name := range members {
		if !listed[name] {
			errs = append(errs, &MemberError{name, "not listed in the manifest"})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	if len(errs) > maxMemberErrors {
		errs = append(errs[:maxMemberErrors], fmt.Errorf("and %d more", len(errs)-maxMemberErrors))
	}
	return errors.Join(errs...)
}
