package fetch

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func writeCA(t testing.TB, path string, f *fakeRegistry) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTLS(t *testing.T) {
	checkGoroutines(t)
	reg := newFakeRegistry(t, withTLS())
	reg.add(&fakePkg{name: "tls-pkg", version: "1.0.0"})
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	writeCA(t, caPath, reg)
	pemText, err := os.ReadFile(caPath)
	if err != nil {
		t.Fatal(err)
	}
	caJSON := strings.ReplaceAll(string(pemText), "\n", `\n`)
	tests := []struct {
		name    string
		npmrc   string
		wantErr bool
	}{
		{"cafile", "cafile=" + caPath + "\n", false},
		{"ca inline", `ca="` + caJSON + `"` + "\n", false},
		{"ca array", `ca[]="` + caJSON + `"` + "\n", false},
		{"system roots reject the test CA", "", true},
		{"strict-ssl=false", "strict-ssl=false\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, reg.URL(), tt.npmrc)
			c := testClient(t, cfg, Options{NoCache: true, Retries: -1})
			m, err := c.Manifest(context.Background(), "tls-pkg", "1.0.0", "")
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "certificate") {
					t.Fatalf("err = %v, want a certificate error", err)
				}
				if !strings.Contains(err.Error(), "tls-pkg@1.0.0") {
					t.Errorf("error does not name the package: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Manifest: %v", err)
			}
			if m.Name != "tls-pkg" {
				t.Errorf("got %+v", m)
			}
		})
	}
}

// proxyServer is an HTTP forward proxy that answers from target itself and
// records the absolute-form request URLs it saw.
type proxyServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newProxy(t *testing.T, target http.Handler) *proxyServer {
	p := &proxyServer{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.URL.String())
		p.mu.Unlock()
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		target.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *proxyServer) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// testHost is the registry's name in the proxy tests. Requests to a
// loopback address never go through a proxy, so the registry is named by
// a host that resolves nowhere: only the test proxies and the dialer of
// testHostTransport reach it (at the loopback address), and a request that
// took another way fails instead of reaching the network.
const testHost = "registry.invalid"

// onTestHost returns a URL of a server on 127.0.0.1 with testHost as its host.
func onTestHost(t *testing.T, raw string) string {
	t.Helper()
	u := mustURL(t, raw)
	if u.Hostname() != "127.0.0.1" {
		t.Fatalf("%s is not on 127.0.0.1", raw)
	}
	u.Host = net.JoinHostPort(testHost, u.Port())
	return u.String()
}

// dialTestHost dials addr, connecting testHost to the loopback address.
func dialTestHost(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == testHost {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// testHostTransport is the transport cfg gives (its proxies included),
// dialing with dialTestHost.
func testHostTransport(cfg *Config) *http.Transport {
	tr := newTransport(cfg, 4)
	tr.DialContext = dialTestHost
	return tr
}

func TestProxyFromEnv(t *testing.T) {
	checkGoroutines(t)
	reg := newFakeRegistry(t)
	reg.add(&fakePkg{name: "proxied", version: "1.0.0"})
	proxy := newProxy(t, http.HandlerFunc(reg.serve))
	registry := onTestHost(t, reg.URL())
	tests := []struct {
		name      string
		registry  string
		npmrc     string
		env       []string
		wantProxy bool
	}{
		{"HTTP_PROXY", registry, "", []string{"HTTP_PROXY=" + proxy.URL}, true},
		{"http_proxy", registry, "", []string{"http_proxy=" + proxy.URL}, true},
		{"npmrc proxy", registry, "proxy=" + proxy.URL + "\n", nil, true},
		{"npmrc proxy beats env", registry, "proxy=" + proxy.URL + "\n", []string{"HTTP_PROXY=http://127.0.0.1:1"}, true},
		{"HTTPS_PROXY does not apply to http", registry, "", []string{"HTTPS_PROXY=" + proxy.URL}, false},
		{"NO_PROXY host", registry, "", []string{"HTTP_PROXY=" + proxy.URL, "NO_PROXY=localhost," + testHost}, false},
		{"NO_PROXY star", registry, "", []string{"HTTP_PROXY=" + proxy.URL, "no_proxy=*"}, false},
		{"npmrc noproxy with a leading dot matches the host itself", registry, "noproxy=." + testHost + "\n", []string{"HTTP_PROXY=" + proxy.URL}, false},
		{"npmrc noproxy beats NO_PROXY", registry, "noproxy=other.invalid\n", []string{"HTTP_PROXY=" + proxy.URL, "NO_PROXY=" + testHost}, true},
		{"NO_PROXY other host", registry, "", []string{"HTTP_PROXY=" + proxy.URL, "NO_PROXY=example.invalid"}, true},
		{"loopback is never proxied", reg.URL(), "", []string{"HTTP_PROXY=" + proxy.URL}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(proxy.requests())
			cfg := testConfig(t, tt.registry, tt.npmrc, tt.env...)
			c := testClient(t, cfg, Options{NoCache: true, Retries: -1, Transport: testHostTransport(cfg)})
			if _, err := c.Manifest(context.Background(), "proxied", "1.0.0", ""); err != nil {
				t.Fatalf("Manifest: %v", err)
			}
			seen := proxy.requests()[before:]
			if tt.wantProxy {
				if len(seen) != 1 || seen[0] != tt.registry+"proxied/1.0.0" {
					t.Errorf("proxy saw %q, want the version document request", seen)
				}
			} else if len(seen) != 0 {
				t.Errorf("proxy saw %q, want a direct request", seen)
			}
		})
	}
}

// TestProxyFunc checks which requests go through the proxy: noproxy
// entries as npm reads them (a leading "." or "*." optional), ports,
// addresses and ranges, and never for loopback.
func TestProxyFunc(t *testing.T) {
	const proxy = "http://proxy.invalid:3128"
	proxyURL := mustURL(t, proxy)
	noProxy := []string{".corp.invalid", "exact.invalid", "ported.invalid:8080", "10.0.0.0/8", "*.star.invalid", "192.0.2.7", "[2001:db8::1]"}
	tests := []struct {
		url     string
		proxied bool
	}{
		{"https://corp.invalid/", false}, // a leading "." is optional, as in npm
		{"https://a.corp.invalid/", false},
		{"https://xcorp.invalid/", true},
		{"https://exact.invalid/", false},
		{"https://sub.exact.invalid/", false},
		{"https://ported.invalid/", true},
		{"http://ported.invalid:8080/", false},
		{"http://10.1.2.3/", false},
		{"http://11.1.2.3/", true},
		{"https://star.invalid/", false},
		{"https://x.star.invalid/", false},
		{"http://192.0.2.7:8080/", false},
		{"http://192.0.2.8/", true},
		{"https://[2001:db8::1]/", false},
		{"https://[2001:db8::2]/", true},
		{"https://other.invalid/", true},
		{"http://other.invalid/", true},
		{"https://localhost:8443/", false}, // loopback is never proxied
		{"http://127.0.0.1:8080/", false},
		{"http://[::1]/", false},
	}
	choose := proxyFunc(proxyURL, proxyURL, noProxy)
	for _, tt := range tests {
		got, err := choose(mustURL(t, tt.url))
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		if (got != nil) != tt.proxied || got != nil && got.String() != proxy {
			t.Errorf("%s: proxy %v, want proxied %v", tt.url, got, tt.proxied)
		}
	}
	all := proxyFunc(proxyURL, proxyURL, []string{"*"})
	if got, _ := all(mustURL(t, "https://other.invalid/")); got != nil {
		t.Errorf("noproxy * still proxies: %v", got)
	}
	httpsOnly := proxyFunc(proxyURL, nil, nil)
	if got, _ := httpsOnly(mustURL(t, "http://other.invalid/")); got != nil {
		t.Errorf("an https proxy serves http URLs: %v", got)
	}
}

const testToken = "npm_TOPSECRET_0123456789"

// TestTokenScoping proves a token goes to its own registry only: not to
// another host (a scoped registry on another port), not to another path
// prefix on the same host, and not across a redirect to another host.
func TestTokenScoping(t *testing.T) {
	checkGoroutines(t)
	private := newFakeRegistry(t, withPrefix("/private"))
	other := newFakeRegistry(t)
	private.add(&fakePkg{name: "mine", version: "1.0.0"}, &fakePkg{name: "redirected", version: "1.0.0"})
	other.add(&fakePkg{name: "@pub/lib", version: "2.0.0"}, &fakePkg{name: "redirected", version: "1.0.0"})
	// same host and port as private, outside its path
	private.add(&fakePkg{name: "pathless", version: "1.0.0"})
	private.handle("/redirected/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL()+"redirected/1.0.0", http.StatusFound)
	})
	hostport := strings.TrimPrefix(private.srv.URL, "http://")
	cfg := testConfig(t, private.URL(),
		"//"+hostport+"/private/:_authToken="+testToken+"\n@pub:registry="+other.URL()+"\n@outside:registry="+private.srv.URL+"/public/\n")
	c := testClient(t, cfg, Options{NoCache: true, Retries: -1})
	ctx := context.Background()

	if _, err := c.Manifest(ctx, "mine", "1.0.0", ""); err != nil {
		t.Fatalf("own registry: %v", err)
	}
	if got := private.authSeen(); len(got) != 1 || got[0] != "/mine/1.0.0 Bearer "+testToken {
		t.Fatalf("own registry saw %q, want the token", got)
	}
	if _, err := c.Manifest(ctx, "@pub/lib", "2.0.0", ""); err != nil {
		t.Fatalf("other registry: %v", err)
	}
	if _, err := c.Manifest(ctx, "redirected", "1.0.0", ""); err != nil {
		t.Fatalf("redirect: %v", err)
	}
	for _, a := range other.authSeen() {
		if !strings.HasSuffix(a, " ") {
			t.Errorf("other host received an Authorization header: %q", a)
		}
	}
	if n := other.hitsFor("/redirected/1.0.0"); n != 1 {
		t.Errorf("redirect target hits = %d, want 1", n)
	}
	// same host, path outside the credential's prefix
	_, _ = c.Manifest(ctx, "@outside/x", "1.0.0", "")
	for _, a := range private.authSeen() {
		if strings.HasPrefix(a, "/public/") && !strings.HasSuffix(a, " ") {
			t.Errorf("path outside the credential received it: %q", a)
		}
	}
}

// TestTokenNeverPrinted makes every kind of failure happen on a registry
// with a token and checks no error text (nor Config.String) contains it.
func TestTokenNeverPrinted(t *testing.T) {
	checkGoroutines(t)
	reg := newFakeRegistry(t)
	reg.add(&fakePkg{name: "p", version: "1.0.0"})
	hostport := strings.TrimPrefix(reg.srv.URL, "http://")
	registryWithCreds := "http://user:" + testToken + "@" + hostport + "/"
	cfg := testConfig(t, registryWithCreds, "//"+hostport+"/:_authToken="+testToken+"\n")
	c := testClient(t, cfg, Options{NoCache: true, Retries: 1, MaxBody: 512})
	reg.fail("/p/1.0.0", 100, http.StatusInternalServerError, "")
	reg.handle("/html/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html>%s</html>", r.Header.Get("Authorization"))
	})
	reg.handle("/wrong/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"name":"other","version":"1.0.0","dist":{"integrity":"x"}}`)
	})
	reg.handle("/big/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat(" ", 600))
	})
	reg.handle("/redir/1.0.0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:1/x", http.StatusFound)
	})
	ctx := context.Background()
	var errs []error
	for _, name := range []string{"p", "html", "wrong", "big", "redir", "missing"} {
		_, err := c.Manifest(ctx, name, "1.0.0", "")
		if err == nil {
			t.Fatalf("%s: want an error", name)
		}
		errs = append(errs, err)
	}
	_, err := c.Attestations(ctx, &Manifest{Name: "p", Version: "1.0.0", Registry: c.cfg.DefaultRegistry(), Attestations: &AttestationRef{URL: "x"}})
	errs = append(errs, err)
	_, err = c.RegistryKeys(ctx, registryWithCreds)
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("want an error")
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(s, testToken) {
				t.Errorf("error contains the token: %s", s)
			}
		}
	}
	if !errors.Is(errs[0], ErrHTTPStatus) || !errors.Is(errs[1], ErrMalformed) || !errors.Is(errs[2], ErrMalformed) || !errors.Is(errs[3], ErrTooLarge) {
		t.Errorf("unexpected error kinds: %v", errs)
	}
	if s := cfg.String(); strings.Contains(s, testToken) {
		t.Errorf("Config.String contains the token:\n%s", s)
	}
}

// connectProxy is an HTTPS forward proxy: it tunnels CONNECT requests and
// records their targets.
type connectProxy struct {
	*httptest.Server
	mu      sync.Mutex
	targets []string
}

func newConnectProxy(t *testing.T) *connectProxy {
	p := &connectProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		p.mu.Lock()
		p.targets = append(p.targets, r.Host)
		p.mu.Unlock()
		upstream, err := dialTestHost(r.Context(), "tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		fmt.Fprint(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = io.Copy(upstream, conn); upstream.Close() })
		wg.Go(func() { _, _ = io.Copy(conn, upstream); conn.Close() })
		wg.Wait()
	}))
	t.Cleanup(p.Close)
	return p
}

// testCert returns a self-signed certificate for testHost and its DER.
func testCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: testHost},
		DNSNames:              []string{testHost},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der
}

// TestHTTPSProxyAndHTTP2 goes through an HTTPS_PROXY tunnel to a TLS
// registry (trusted through cafile), and talks HTTP/2 to a TLS registry
// that offers it.
func TestHTTPSProxyAndHTTP2(t *testing.T) {
	checkGoroutines(t)
	cert, der := testCert(t)
	r := newFakeRegistry(t, withTLSCert(cert))
	r.add(&fakePkg{name: "h2", version: "1.0.0"})
	var mu sync.Mutex
	var protos []int
	r.handle("/-/npm/v1/keys", func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		protos = append(protos, req.ProtoMajor)
		mu.Unlock()
		fmt.Fprint(w, `{"keys":[]}`)
	})
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	registry := onTestHost(t, r.URL())
	proxy := newConnectProxy(t)
	for _, viaProxy := range []bool{false, true} {
		var env []string
		if viaProxy {
			env = []string{"HTTPS_PROXY=" + proxy.URL}
		}
		cfg := testConfig(t, registry, "cafile="+caPath+"\n", env...)
		c := testClient(t, cfg, Options{NoCache: true, Transport: testHostTransport(cfg)})
		if _, err := c.Manifest(context.Background(), "h2", "1.0.0", ""); err != nil {
			t.Fatalf("proxy %v: %v", viaProxy, err)
		}
		if _, err := c.RegistryKeys(context.Background(), registry); err != nil {
			t.Fatalf("proxy %v: %v", viaProxy, err)
		}
		c.Close()
	}
	proxy.mu.Lock()
	targets := proxy.targets
	proxy.mu.Unlock()
	if want := strings.TrimSuffix(strings.TrimPrefix(registry, "https://"), "/"); len(targets) != 1 || targets[0] != want {
		t.Errorf("proxy tunnels %q, want one to %s", targets, want)
	}
	if len(protos) != 2 || protos[0] != 2 || protos[1] != 2 {
		t.Errorf("HTTP versions %v, want HTTP/2 with and without the proxy", protos)
	}
}
