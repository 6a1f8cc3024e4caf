package download

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// newClient is an HTTP client for public image hosts: no credentials of any kind, at most
// five redirects, only to http(s) and never from https to http, with every Authorization
// and Cookie header dropped on the way. It connects to no address of this machine or its
// networks (loopback, private, link-local: internalIP): an image URL, or a redirect, that
// leads there is refused. A proxy from the environment is used as it is. allowInternal
// lifts the address rule (the API itself is on such an address: the sandbox), internal
// replaces internalIP (tests).
func newClient(allowInternal bool, internal func(net.IP) bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = time.Minute
	if !allowInternal {
		guardDials(tr, internal)
	}
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

// guardDials makes tr refuse to connect to an internal address. The check is on the
// address actually dialled, after name resolution, so neither a redirect nor a name that
// resolves to 127.0.0.1 gets past it; a proxy's own address is exempt (pi reaches the
// image through it, and the proxy decides).
func guardDials(tr *http.Transport, internal func(net.IP) bool) {
	if internal == nil {
		internal = internalIP
	}
	var proxies sync.Map // "host:port" of the proxies used
	proxy := tr.Proxy
	tr.Proxy = func(req *http.Request) (*url.URL, error) {
		if proxy == nil {
			return nil, nil
		}
		u, err := proxy(req)
		if u != nil {
			port := u.Port()
			if port == "" {
				port = map[string]string{"https": "443", "socks5": "1080"}[u.Scheme]
				if port == "" {
					port = "80"
				}
			}
			proxies.Store(net.JoinHostPort(u.Hostname(), port), true)
		}
		return u, err
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	guarded := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			host, _, _ := net.SplitHostPort(address)
			if ip := net.ParseIP(host); ip == nil || internal(ip) {
				return &internalAddrError{addr: host}
			}
			return nil
		}}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if _, isProxy := proxies.Load(addr); isProxy {
			return dialer.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
}

// internalAddrError is a connection refused because of where it went.
type internalAddrError struct{ addr string }

func (e *internalAddrError) Error() string {
	return fmt.Sprintf("%s is an address of this machine or its network: not fetched (only a Pi API on such an address, as the sandbox, has its images there)", e.addr)
}

// internalIP reports an address that is not a public host's: loopback, private (RFC 1918,
// fc00::/7, 100.64/10), link-local (169.254/16 with the clouds' metadata services,
// fe80::/10), unspecified or multicast.
func internalIP(ip net.IP) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || reservedIPv4(ip.To4())
}

// reservedIPv4 is 0.0.0.0/8 ("this network") and 100.64.0.0/10, the shared space of
// carrier-grade NAT (RFC 6598), private in practice.
func reservedIPv4(ip4 net.IP) bool {
	return ip4 != nil && (ip4[0] == 0 || ip4[0] == 100 && ip4[1]&0xc0 == 64)
}

// InternalHost reports whether host (a name or an address) is, or resolves to, an
// internal address (internalIP): a Pi API there may serve its images there too.
func InternalHost(ctx context.Context, host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return internalIP(ip)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if internalIP(a.IP) {
			return true
		}
	}
	return false
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to %q: only http(s) is followed", req.URL.Scheme)
	}
	if prev := via[len(via)-1].URL; prev.Scheme == "https" && req.URL.Scheme == "http" {
		return &downgradeError{from: prev.Redacted(), to: req.URL.Redacted()}
	}
	req.Header.Del("Authorization")
	req.Header.Del("Cookie")
	return nil
}

// downgradeError is a redirect from https to http, which is not followed: the image would
// travel in the clear, where anyone on the way could change it.
type downgradeError struct{ from, to string }

func (e *downgradeError) Error() string {
	return fmt.Sprintf("redirect from https to http (%s): not followed, the image would travel unencrypted", e.to)
}

// traceTransport writes a line per request for --debug. Image requests carry no
// credential, so there is nothing to redact; the line says so.
type traceTransport struct {
	next http.RoundTripper
	w    io.Writer
	mu   sync.Mutex
}

func (t *traceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	start := time.Now()
	auth := "no Authorization"
	if req.Header.Get("Authorization") != "" {
		auth = "Authorization: [redacted]" // never set by this package
	}
	resp, err := next.RoundTrip(req)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		fmt.Fprintf(t.w, "download: %s %s (%s): %v\n", req.Method, req.URL.Redacted(), auth, err)
		return nil, err
	}
	fmt.Fprintf(t.w, "download: %s %s (%s) -> %s in %s\n", req.Method, req.URL.Redacted(), auth, resp.Status,
		time.Since(start).Round(time.Millisecond))
	return resp, nil
}
