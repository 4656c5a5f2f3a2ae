package npmrig

import (
	"bufio"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func newEmptyPool(t *testing.T) *x509.CertPool {
	t.Helper()
	return x509.NewCertPool()
}

// TestProxyRefuses checks that the proxy tunnels nothing but TUFHost:443 and
// forwards no plain HTTP request: a run that would leave loopback fails.
func TestProxyRefuses(t *testing.T) {
	ca, err := newCertAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// A loopback server the proxy must not reach either.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("the proxy forwarded a request to another server")
	}))
	defer other.Close()

	p, err := startProxy(TUFHost+":443", ca, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	}()
	addr := strings.TrimPrefix(p.URL(), "http://")
	otherHost := strings.TrimPrefix(other.URL, "http://")

	tests := []struct {
		name    string
		request string
		status  int
	}{
		{"other host", "CONNECT registry.invalid:443 HTTP/1.1\r\nHost: registry.invalid:443\r\n\r\n", http.StatusForbidden},
		{"TUF host on port 80", "CONNECT " + TUFHost + ":80 HTTP/1.1\r\nHost: " + TUFHost + ":80\r\n\r\n", http.StatusForbidden},
		{"TUF host without port", "CONNECT " + TUFHost + " HTTP/1.1\r\nHost: " + TUFHost + "\r\n\r\n", http.StatusForbidden},
		{"suffix of the TUF host", "CONNECT evil" + TUFHost + ":443 HTTP/1.1\r\nHost: evil" + TUFHost + ":443\r\n\r\n", http.StatusForbidden},
		{"loopback server", "CONNECT " + otherHost + " HTTP/1.1\r\nHost: " + otherHost + "\r\n\r\n", http.StatusForbidden},
		{"plain proxy GET", "GET " + other.URL + "/x HTTP/1.1\r\nHost: " + otherHost + "\r\n\r\n", http.StatusMethodNotAllowed},
		{"plain proxy GET of the TUF host", "GET http://" + TUFHost + "/timestamp.json HTTP/1.1\r\nHost: " + TUFHost + "\r\n\r\n", http.StatusMethodNotAllowed},
		{"allowed", "CONNECT " + TUFHost + ":443 HTTP/1.1\r\nHost: " + TUFHost + ":443\r\n\r\n", http.StatusOK},
		{"allowed, upper case", "CONNECT TUF-REPO-CDN.SIGSTORE.DEV:443 HTTP/1.1\r\nHost: TUF-REPO-CDN.SIGSTORE.DEV:443\r\n\r\n", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := proxyStatus(t, addr, tt.request); got != tt.status {
				t.Fatalf("status %d, want %d", got, tt.status)
			}
		})
	}
	if got := p.refused.Load(); got != 7 {
		t.Errorf("refused %d requests, want 7", got)
	}
}

// proxyStatus sends one raw request to the proxy and returns the status.
func proxyStatus(t *testing.T, addr, request string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	var proto string
	var status int
	if _, err := fmt.Sscanf(line, "%s %d", &proto, &status); err != nil {
		t.Fatalf("status line %q: %v", line, err)
	}
	return status
}
