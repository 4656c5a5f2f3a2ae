package evidence

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Transport returns an http.RoundTripper that answers every request from
// the bundle and never touches the network: a recorded answer is served as
// it was recorded; a request recorded as failed fails with the recorded
// error; any other request fails with [ErrNotRecorded], naming it.
func (b *Bundle) Transport() http.RoundTripper { return replayer{b} }

type replayer struct{ b *Bundle }

func (t replayer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	key := requestOf(req)
	if rec, ok := t.b.answers[key]; ok {
		body := t.b.members[rec.Member]
		h := http.Header{}
		if rec.ContentType != "" {
			h.Set("Content-Type", rec.ContentType)
		}
		if rec.Location != "" {
			h.Set("Location", rec.Location)
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		return &http.Response{
			Status:        fmt.Sprintf("%d %s", rec.Status, http.StatusText(rec.Status)),
			StatusCode:    rec.Status,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        h,
			Body:          io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)),
			Request:       req,
		}, nil
	}
	if msg, ok := t.b.failures[key]; ok {
		return nil, fmt.Errorf("%w: %s got no answer when the bundle was recorded: %s", ErrNotRecorded, key, msg)
	}
	return nil, fmt.Errorf("%w: %s was not recorded", ErrNotRecorded, key)
}
