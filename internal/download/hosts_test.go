package download

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/clock"
)

// serveOn starts an HTTP server on addr (127.0.0.2 is this machine too, on Linux).
func serveOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listen on %s: %v", addr, err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// An image URL that leads (directly or by a redirect) to an address of this machine or its
// network is refused, and nothing is saved, unless the API itself is on such an address
// (the sandbox): a server must not make pi fetch, and keep, what an internal service says.
// Here 127.0.0.2 stands for the internal address and 127.0.0.1 for the public image host.
func TestDownloadRefusesInternalTargets(t *testing.T) {
	internal := serveOn(t, "127.0.0.2:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/img.png" {
			w.Write(pngBytes("internal"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"secret": "instance credentials"}`))
	}))
	public := newImageHost(t)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	onlyTwo := func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 2)) }
	r := testRun(
		adStep("direct", internal.URL+"/latest/meta-data"),
		adStep("redirected", redirect.URL+"/latest/meta-data"),
		adStep("ok", public.put("/ok.png", pngBytes("ok"), "image/png")),
	)
	dir := t.TempDir()
	sl := clock.NewAuto(time.Now())
	res, err := Run(context.Background(), r, Options{Dir: dir, Clock: sl, internal: onlyTwo})
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Failed != 2 {
		t.Fatalf("err %v, want 2 refused", err)
	}
	for _, it := range res.Items[:2] {
		if it.Err == nil || !strings.Contains(it.Err.Error(), "127.0.0.2") || !strings.Contains(it.Err.Error(), "not fetched") {
			t.Errorf("%s: err %v, want a refusal naming the address", it.Step, it.Err)
		}
	}
	if len(sl.Waits()) != 0 {
		t.Errorf("a refusal was retried (%v)", sl.Waits())
	}
	m := readManifestFile(t, dir)
	if len(m.Files) != 1 || m.Files[0].Step != "ok" {
		t.Errorf("manifest files %+v, want only ok", m.Files)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "direct") || strings.HasPrefix(e.Name(), "redirected") {
			t.Errorf("%s was saved", e.Name())
		}
	}

	// The API on such an address (the sandbox): its images may be there.
	r = testRun(adStep("sandbox", redirect.URL+"/img.png"))
	if _, err := Run(context.Background(), r, Options{Dir: t.TempDir(), AllowInternal: true, internal: onlyTwo}); err != nil {
		t.Errorf("with AllowInternal: %v", err)
	}
}

// A redirect from https to http is not followed: the image would travel in the clear,
// and anyone on the way could change it.
func TestDownloadRefusesHTTPSDowngrade(t *testing.T) {
	plain := newImageHost(t)
	target := plain.put("/a.png", pngBytes("a"), "image/png")
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusFound)
	}))
	t.Cleanup(tlsSrv.Close)
	r := testRun(adStep("a", tlsSrv.URL+"/a.png"))
	_, err := Run(context.Background(), r, Options{Dir: t.TempDir(), Client: tlsSrv.Client(), AllowInternal: true, Clock: clock.NewAuto(time.Now())})
	if err == nil || !strings.Contains(err.Error(), "https to http") {
		t.Fatalf("err %v, want the downgrade refused", err)
	}
	if plain.hits["/a.png"] != 0 {
		t.Error("the http URL was fetched")
	}
}

func TestInternalIP(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "169.254.169.254": true,
		"100.64.0.1": true, "0.0.0.0": true, "::1": true, "fe80::1": true, "fd00::1": true, "::ffff:127.0.0.1": true,
		"8.8.8.8": false, "2606:4700::1111": false, "151.101.1.1": false,
	} {
		if got := internalIP(net.ParseIP(addr)); got != want {
			t.Errorf("internalIP(%s) = %v, want %v", addr, got, want)
		}
	}
}
