package registrytest

import (
	"bytes"
	"fmt"
	"net/http"
	"time"
)

// Hostile responses: handlers for [Registry.Handle] that misbehave the way
// a stalled or malicious registry does. They answer any request, end when
// the client goes away, and drop the connection when the registry closes,
// so Close returns promptly.

// NeverAnswer reads the request and never answers: no status line, no
// headers, as a registry that accepts connections and then hangs.
func (r *Registry) NeverAnswer() http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		r.hang(req)
	}
}

// StallBody answers 200 with a JSON content type and a Content-Length far
// beyond head, writes head and then nothing more: headers arrive, the body
// never completes.
func (r *Registry) StallBody(head []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(head)+1<<20))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(head)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		r.hang(req)
	}
}

// Trickle answers 200 with a JSON content type and sends body one byte
// every interval (chunked), slower than any client will wait for.
func (r *Registry) Trickle(body []byte, every time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		f, _ := w.(http.Flusher)
		t := time.NewTicker(every)
		defer t.Stop()
		for i := range body {
			if _, err := w.Write(body[i : i+1]); err != nil {
				return
			}
			if f != nil {
				f.Flush()
			}
			select {
			case <-t.C:
			case <-req.Context().Done():
				return
			case <-r.done:
				panic(http.ErrAbortHandler)
			}
		}
	}
}

// LongString answers 200 with a JSON content type and streams head, then n
// bytes of 'A', then tail: with head ending inside a JSON string (say
// `..."sig":"`) and tail closing it, a well-formed document of any size
// whose one string is n bytes long, served from a few kilobytes of memory.
// The body is chunked, without a Content-Length.
func (r *Registry) LongString(head []byte, n int64, tail []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if req.Method == http.MethodHead {
			return
		}
		if _, err := w.Write(head); err != nil {
			return
		}
		fill := bytes.Repeat([]byte{'A'}, 64<<10)
		for left := n; left > 0; {
			select {
			case <-req.Context().Done():
				return
			case <-r.done:
				panic(http.ErrAbortHandler)
			default:
			}
			chunk := fill[:min(int64(len(fill)), left)]
			if _, err := w.Write(chunk); err != nil {
				return
			}
			left -= int64(len(chunk))
		}
		_, _ = w.Write(tail)
	}
}

// hang waits until the client goes away or the registry closes, then
// drops the connection.
func (r *Registry) hang(req *http.Request) {
	select {
	case <-req.Context().Done():
	case <-r.done:
	}
	panic(http.ErrAbortHandler)
}
