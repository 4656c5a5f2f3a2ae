package localfile

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/provaudit/provaudit/internal/localfile/localfiletest"
)

func TestReadRegularFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.json")
	if err := os.WriteFile(file, []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{file: `{"a":1}`, link: `{"a":1}`, empty: ""} {
		got, err := Read(path, 7)
		if err != nil || string(got) != want {
			t.Errorf("Read(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
}

func TestReadCap(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "big")
	if err := os.WriteFile(file, make([]byte, 2<<10+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Read(file, 2<<10)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "2 KiB") {
		t.Fatalf("err = %v, want ErrTooLarge naming the path and the cap", err)
	}
	if got, err := Read(file, 2<<10+1); err != nil || len(got) != 2<<10+1 {
		t.Fatalf("at the cap: %d bytes, %v", len(got), err)
	}
}

// TestReadRefusesSpecialFiles: a lockfile or npmrc linked to /dev/zero, a
// FIFO, a socket or a directory is refused at once, naming the path. A
// FIFO without a writer must not block: the test fails after 5 s if Read
// hangs.
func TestReadRefusesSpecialFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs, /dev/zero or unix sockets in the file system")
	}
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero-link")
	localfiletest.LinkDevZero(t, zero)
	fifo := filepath.Join(dir, "fifo")
	localfiletest.Mkfifo(t, fifo)
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cases := map[string]string{
		zero:        "character device",
		fifo:        "FIFO",
		sock:        "socket",
		dir:         "directory",
		"/dev/null": "character device",
	}
	for path, what := range cases {
		err := localfiletest.Within(t, 5*time.Second, "Read("+path+")", func() error {
			_, err := Read(path, 1<<20)
			return err
		})
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), what) {
			t.Errorf("Read(%s) = %v, want ErrNotRegular naming the path and %q", path, err, what)
		}
	}
}

// TestOpenDoesNotBlockOnFIFO checks the second line of defence on its own:
// a path that passed the first stat and became a FIFO is opened without
// blocking, and then refused by fstat.
func TestOpenDoesNotBlockOnFIFO(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs")
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	localfiletest.Mkfifo(t, fifo)
	err := localfiletest.Within(t, 5*time.Second, "opening a FIFO without a writer", func() error {
		f, err := openNonblocking(fifo)
		if err == nil {
			var fi fs.FileInfo
			if fi, err = f.Stat(); err == nil {
				err = checkRegular(fifo, fi)
			}
			f.Close()
		}
		return err
	})
	if !errors.Is(err, ErrNotRegular) {
		t.Fatalf("err = %v, want ErrNotRegular", err)
	}
}

func TestReadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent")
	_, err := Read(path, 10)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want fs.ErrNotExist naming the path", err)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{256 << 20: "256 MiB", 1 << 20: "1 MiB", 64 << 10: "64 KiB", 1000: "1000 bytes", 1<<20 + 1: "1048577 bytes"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
