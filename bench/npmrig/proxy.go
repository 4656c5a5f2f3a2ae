package npmrig

import (
	"bufio"
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
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// certAuthority is the rig's own CA and the server certificate it issued
// for TUFHost.
type certAuthority struct {
	certPEM []byte // the CA certificate, for NODE_EXTRA_CA_CERTS
	cert    *x509.Certificate
	leaf    tls.Certificate // TUFHost's certificate and key
}

// newCertAuthority makes a CA and a server certificate for TUFHost, both
// valid from an hour before now for as long as the TUF metadata.
func newCertAuthority(now time.Time) (*certAuthority, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: CA key: %w", ErrSetup, err)
	}
	notBefore, notAfter := now.Add(-time.Hour), now.Add(tufLifetime)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "npmrig loopback CA", Organization: []string{"provaudit npmrig"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("%w: CA certificate: %w", ErrSetup, err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("%w: CA certificate: %w", ErrSetup, err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: server key: %w", ErrSetup, err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: TUFHost},
		DNSNames:     []string{TUFHost},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("%w: server certificate: %w", ErrSetup, err)
	}
	return &certAuthority{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		cert:    caCert,
		leaf:    tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey},
	}, nil
}

func serial() *big.Int {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b)
}

// pool is a certificate pool holding only the CA.
func (ca *certAuthority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// proxy is a loopback HTTP proxy that accepts CONNECT to one authority only
// (TUFHost:443) and terminates that TLS itself, handing the decrypted
// requests to a handler. It never dials anywhere.
type proxy struct {
	allowed string // host:port accepted in CONNECT
	ln      net.Listener
	outer   *http.Server // CONNECT front on ln
	inner   *http.Server // TLS server fed with the hijacked connections
	conns   *connListener
	wg      sync.WaitGroup

	connects atomic.Int64 // tunnels accepted
	refused  atomic.Int64 // requests refused
}

// startProxy listens on 127.0.0.1 on a free port.
func startProxy(allowed string, ca *certAuthority, h http.Handler) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%w: proxy listen: %w", ErrSetup, err)
	}
	quiet := log.New(io.Discard, "", 0)
	p := &proxy{
		allowed: strings.ToLower(allowed),
		ln:      ln,
		conns:   newConnListener(ln.Addr()),
	}
	p.outer = &http.Server{Handler: http.HandlerFunc(p.serveConnect), ErrorLog: quiet, ReadHeaderTimeout: 30 * time.Second}
	p.inner = &http.Server{
		Handler:           h,
		ErrorLog:          quiet,
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{ca.leaf},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"},
		},
	}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		_ = p.outer.Serve(ln)
	}()
	go func() {
		defer p.wg.Done()
		_ = p.inner.ServeTLS(p.conns, "", "")
	}()
	return p, nil
}

// URL is the proxy's URL for https_proxy.
func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Close stops both servers and closes every connection.
func (p *proxy) Close() error {
	err := errors.Join(p.outer.Close(), p.inner.Close())
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("%w: close proxy: %w", ErrSetup, err)
	}
	return nil
}

func (p *proxy) serveConnect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		p.refused.Add(1)
		w.Header().Set("Allow", http.MethodConnect)
		http.Error(w, "npmrig proxy: only CONNECT "+p.allowed+" is served", http.StatusMethodNotAllowed)
		return
	}
	if !strings.EqualFold(r.Host, p.allowed) {
		p.refused.Add(1)
		http.Error(w, "npmrig proxy: CONNECT "+r.Host+" refused: only "+p.allowed+" is served", http.StatusForbidden)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		p.refused.Add(1)
		http.Error(w, "npmrig proxy: cannot hijack the connection", http.StatusInternalServerError)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		p.refused.Add(1)
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	p.connects.Add(1)
	var c net.Conn = conn
	if brw.Reader.Buffered() > 0 {
		// The client sent bytes (its TLS hello) before our answer.
		c = &bufferedConn{Conn: conn, r: brw.Reader}
	}
	p.conns.push(c)
}

// bufferedConn reads first what the CONNECT request's reader buffered.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// connListener is a net.Listener whose connections are pushed to it.
type connListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c to Accept, or closes it when the listener is closed.
func (l *connListener) push(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }
