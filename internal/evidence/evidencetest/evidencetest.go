// Package evidencetest takes evidence bundles apart and puts them together
// again, for tests that tamper with, drop or reorder members. Only tests
// import it.
package evidencetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

// Entry is one entry of a bundle's tar archive.
type Entry struct {
	Header tar.Header
	Data   []byte
}

// Unpack reads every entry of a gzipped tar, without limits.
func Unpack(data []byte) ([]Entry, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var out []Entry
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Header: *hdr, Data: b})
	}
}

// Pack writes entries as a gzipped tar at the given compression level. An
// entry's Header.Size is set from its Data for regular files.
func Pack(entries []Entry, level int) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := e.Header
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Edit rewrites the bundle at path through edit, at the given level.
func Edit(path string, level int, edit func([]Entry) ([]Entry, error)) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	entries, err := Unpack(data)
	if err != nil {
		return err
	}
	if entries, err = edit(entries); err != nil {
		return err
	}
	out, err := Pack(entries, level)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// Find returns the index of the entry named name.
func Find(entries []Entry, name string) (int, error) {
	for i := range entries {
		if entries[i].Header.Name == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("no member %s", name)
}

// Flip changes one byte in the middle of the named member.
func Flip(entries []Entry, name string) ([]Entry, error) {
	i, err := Find(entries, name)
	if err != nil {
		return nil, err
	}
	if len(entries[i].Data) == 0 {
		return nil, fmt.Errorf("member %s is empty", name)
	}
	d := bytes.Clone(entries[i].Data)
	d[len(d)/2] ^= 0x01
	entries[i].Data = d
	return entries, nil
}

// Drop removes the named member.
func Drop(entries []Entry, name string) ([]Entry, error) {
	i, err := Find(entries, name)
	if err != nil {
		return nil, err
	}
	return append(entries[:i:i], entries[i+1:]...), nil
}

// Reverse reverses the members' order.
func Reverse(entries []Entry) ([]Entry, error) {
	out := make([]Entry, len(entries))
	for i := range entries {
		out[len(entries)-1-i] = entries[i]
	}
	return out, nil
}
