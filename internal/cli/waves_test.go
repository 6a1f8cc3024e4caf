package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/sandbox"
)

// TestWavesInterruptedThenRerun: Ctrl-C once the first server run of 25 steps exists
// stops pi: it names that server run (it goes on) and the waves not sent (exit 130). pi
// runs get --wait then follows the run until that server run ended (the run is then
// cancelled: the other waves were never sent), and pi runs rerun sends the steps that did
// not run, in waves, their inputs from the first wave's results: every server run has at
// most 10 steps and each of the 25 jobs is made once.
func TestWavesInterruptedThenRerun(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "server.db")
	key := sandbox.NewAPIKey()
	srv, err := sandbox.New(sandbox.Options{APIKey: key, DBPath: db, Latency: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var mu sync.Mutex
	var sent []int // steps per POST /runs
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		post := r.Method == http.MethodPost && r.URL.Path == "/api/v1/runs"
		if post {
			b, _ := io.ReadAll(r.Body)
			var body pipeline.RunsRequest
			if err := json.Unmarshal(b, &body); err != nil {
				t.Errorf("body: %v", err)
			}
			mu.Lock()
			sent = append(sent, len(body.Steps))
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/runs/") {
			interrupt() // Ctrl-C once pi follows the first server run (later, ctx is done)
		}
		srv.ServeHTTP(w, r)
	}))
	defer func() {
		srv.Drain()
		hs.Close()
		srv.Close()
	}()
	env := map[string]string{"PI_BASE_URL": hs.URL, "PI_API_KEY": key,
		"XDG_STATE_HOME": filepath.Join(dir, "state"), "XDG_CACHE_HOME": filepath.Join(dir, "cache"), "XDG_CONFIG_HOME": filepath.Join(dir, "config")}
	pi := func(ctx context.Context, args ...string) (string, int) {
		ios, _, _, errOut := render.Test()
		f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
		code := Execute(ctx, f, args)
		return errOut.String(), code
	}
	file := writeFile(t, dir, "w25.yaml", `steps:
  - { id: brand, action: brands.extract, input: { url: https://shop.example.com } }
  - id: gen
    action: campaigns.generate
    depends_on: [brand]
    matrix: { n: [0, 1, 2, 3] }
    input: { prompt: "hero ${matrix.n}" }
    input_map: { brand_id: $steps.brand.result.brand_id }
  - id: loc
    action: campaigns.localize_ad
    depends_on: [gen]
    matrix: { n: [0, 1, 2, 3], c: [fr, de, es, it, nl] }
    input: { prompt: keep it, target_culture: "${matrix.c}" }
    input_map: { source_job_id: $steps.gen.result.job_id }
`)
	stderr, code := pi(ctx, "run", file, "-o", "plain")
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want 130:\n%s", code, stderr)
	}
	m := regexp.MustCompile(`(?m)^interrupted: pi stopped following run ([0-9a-f-]{36}); these server runs go on on the server:\n  wave 1: run [0-9a-f-]{36} \(brand, `).FindStringSubmatch(stderr)
	if m == nil || !strings.Contains(stderr, "waves 2, 3 were not sent: once those ended, 'pi runs rerun "+m[1]+"' sends the steps that did not run") {
		t.Fatalf("stderr:\n%s", stderr)
	}
	id := m[1]
	if stderr, code = pi(context.Background(), "runs", "get", id, "--wait", "-o", "plain"); code != ExitCancelled || !strings.Contains(stderr, "wave 1 ") || !strings.Contains(stderr, "completed (10 steps); wave 2 not sent; wave 3 not sent") {
		t.Fatalf("runs get --wait: exit %d, want 3 (cancelled):\n%s", code, stderr)
	}
	if stderr, code = pi(context.Background(), "runs", "rerun", id, "-o", "plain"); code != ExitOK || !strings.Contains(stderr, "15 of 25 steps run again") {
		t.Fatalf("rerun: exit %d:\n%s", code, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 3 || sent[0] != 10 || sent[1]+sent[2] != 15 || max(sent[1], sent[2]) > pipeline.MaxRemoteSteps {
		t.Errorf("server runs of %v steps, want 10, then 15 in two", sent)
	}
	srv.Drain()
	hs.Close()
	srv.Close()
	sdb, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	var jobs int
	if err := sdb.QueryRow(`SELECT COUNT(*) FROM jobs`).Scan(&jobs); err != nil || jobs != 25 {
		t.Errorf("the server made %d jobs for 25 steps (%v)", jobs, err)
	}
}
