package registrytest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNeverAnswer(t *testing.T) {
	r := newRegistry(t, Options{})
	r.Handle("/", r.NeverAnswer())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"a/1.0.0", nil)
	start := time.Now()
	resp, err := r.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %s, want no answer", resp.Status)
	}
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("err = %v after %s, want the client's deadline", err, time.Since(start))
	}
	if r.Requests() != 1 {
		t.Errorf("%d requests counted", r.Requests())
	}
}

func TestStallBody(t *testing.T) {
	r := newRegistry(t, Options{})
	r.Handle("/", r.StallBody([]byte(`{"name":"a",`)))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"a/1.0.0", nil)
	resp, err := r.Client().Do(req)
	if err != nil {
		t.Fatalf("headers did not arrive: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength <= int64(len(`{"name":"a",`)) {
		t.Fatalf("status %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	body, err := io.ReadAll(resp.Body)
	if string(body) != `{"name":"a",` || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read %q, %v; want the head, then the deadline", body, err)
	}
}

func TestTrickle(t *testing.T) {
	r := newRegistry(t, Options{})
	r.Handle("/", r.Trickle([]byte(`{"name":"a"}`), 50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 175*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"a", nil)
	resp, err := r.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if len(body) == 0 || len(body) > 5 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read %q, %v; want a few bytes, then the deadline", body, err)
	}
}

func TestLongString(t *testing.T) {
	r := newRegistry(t, Options{})
	const n = 3<<20 + 7
	r.Handle("/a", r.LongString([]byte(`{"name":"a","readme":"`), n, []byte(`"}`)))
	resp := get(t, r, "/a")
	if resp.err != nil || resp.status != http.StatusOK {
		t.Fatalf("status %d, %v", resp.status, resp.err)
	}
	var doc struct{ Name, Readme string }
	if err := json.Unmarshal(resp.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Name != "a" || len(doc.Readme) != n || strings.Trim(doc.Readme, "A") != "" {
		t.Fatalf("name %q, readme of %d bytes", doc.Name, len(doc.Readme))
	}
}

// TestCloseEndsHostileHandlers: Close returns promptly while hostile
// handlers are stalling requests.
func TestCloseEndsHostileHandlers(t *testing.T) {
	r := New(Options{})
	r.Handle("/never", r.NeverAnswer())
	r.Handle("/stall", r.StallBody([]byte("{")))
	r.Handle("/trickle", r.Trickle([]byte("{}"), time.Hour))
	r.Handle("/long", r.LongString([]byte(`"`), 1<<40, []byte(`"`)))
	for _, p := range []string{"never", "stall", "trickle", "long"} {
		go func() {
			resp, err := r.Client().Get(r.URL() + p)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); r.Stats().InFlight < 4; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in flight", r.Stats().InFlight)
		}
	}
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung on hostile handlers")
	}
}
