package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/sandbox"
	"github.com/pi-cli/pi/internal/store"
)

// Every run is recorded with the exact body sent: the record of a remote run holds the
// bytes of its POST /api/v1/runs, byte for byte, and where it ran; a detached run too.
func TestRecordedBodyIsTheBodySent(t *testing.T) {
	inst, err := sandbox.Start(context.Background(), sandbox.Options{Latency: time.Millisecond, DBPath: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	var mu sync.Mutex
	var sent [][]byte
	target, _ := url.Parse(inst.URL)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/runs" {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			sent = append(sent, b)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		r.URL.Scheme, r.URL.Host, r.Host, r.RequestURI = target.Scheme, target.Host, target.Host, ""
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(file, []byte(`steps:
  - id: hero
    action: campaigns.generate
    input: { prompt: "A hero ad" }
  - id: fr
    action: campaigns.localize_ad
    depends_on: [hero]
    input: { prompt: Keep it, target_culture: French }
    input_map: { source_job_id: $steps.hero.result.job_id }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PI_BASE_URL": proxy.URL, "PI_API_KEY": inst.APIKey, "HOME": dir,
		"XDG_STATE_HOME": filepath.Join(dir, "state"), "XDG_CACHE_HOME": filepath.Join(dir, "cache")}
	for _, args := range [][]string{{"run", file, "-o", "json", "--no-cache"}, {"run", file, "--detach", "--no-cache"}} {
		ios, _, out, errOut := render.Test()
		f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
		if code := Execute(context.Background(), f, args); code != ExitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	path, _ := store.DefaultPath(func(k string) string { return env[k] })
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListWhere(context.Background(), store.Filter{})
	if err != nil || len(runs) != 2 || len(sent) != 2 {
		t.Fatalf("%d runs recorded (%v), %d bodies sent", len(runs), err, len(sent))
	}
	for i, sm := range runs { // newest first: the detached run, then the first
		rec, err := st.Get(context.Background(), sm.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := sent[len(sent)-1-i]; !bytes.Equal(rec.Body, want) {
			t.Errorf("run %d: recorded body\n%s\nwant the body sent\n%s", i, rec.Body, want)
		}
		if rec.Place != store.PlaceRemote || rec.Server != proxy.URL || rec.RemoteID == "" || rec.File != file {
			t.Errorf("run %d: where %+v, file %s", i, rec.Where, rec.File)
		}
	}
}
