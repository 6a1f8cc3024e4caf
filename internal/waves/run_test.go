package waves

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/sandbox"
)

// sandboxServer is a simulated Pi server (its own database) behind a recorder of the
// run bodies it was sent.
type sandboxServer struct {
	c      *piapi.Client
	db     string
	mu     sync.Mutex
	bodies []pipeline.RunsRequest
	close  func()
}

func newSandbox(t testing.TB, latency time.Duration) *sandboxServer {
	t.Helper()
	db := filepath.Join(t.TempDir(), "sandbox.db")
	key := sandbox.NewAPIKey()
	s, err := sandbox.New(sandbox.Options{APIKey: key, DBPath: db, Latency: latency})
	if err != nil {
		t.Fatal(err)
	}
	sb := &sandboxServer{db: db}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/runs" {
			b, _ := io.ReadAll(r.Body)
			var body pipeline.RunsRequest
			if err := json.Unmarshal(b, &body); err == nil {
				sb.mu.Lock()
				sb.bodies = append(sb.bodies, body)
				sb.mu.Unlock()
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		s.ServeHTTP(w, r)
	}))
	sb.close = sync.OnceFunc(func() {
		s.Drain()
		hs.Close()
		s.Close()
	})
	t.Cleanup(sb.close)
	if sb.c, err = piapi.New(piapi.Config{BaseURL: hs.URL, APIKey: key}); err != nil {
		t.Fatal(err)
	}
	return sb
}

// count is the number of rows of a table of the sandbox's database, once it is closed.
func (sb *sandboxServer) count(t *testing.T, table string) int {
	t.Helper()
	sb.close()
	db, err := sql.Open("sqlite", sb.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// campaign is a pipeline of 1 brand extraction, gens generations taking its brand, and
// per generation locs localizations of it: 1 + gens*(1+locs) steps. A prompt with "fail"
// in it makes the sandbox fail that job.
func campaign(t testing.TB, gens, locs int, failing string) *pipeline.Pipeline {
	t.Helper()
	var b strings.Builder
	b.WriteString("steps:\n  - { id: brand, action: brands.extract, input: { url: https://shop.example.com } }\n")
	for g := range gens {
		prompt := fmt.Sprint("hero ", g)
		if id := fmt.Sprint("gen", g); id == failing {
			prompt = "please fail"
		}
		fmt.Fprintf(&b, "  - { id: gen%d, action: campaigns.generate, depends_on: [brand], input: { prompt: %q } }\n", g, prompt)
		for l := range locs {
			fmt.Fprintf(&b, "  - { id: loc%d-%d, action: campaigns.localize_ad, depends_on: [gen%d], input: { prompt: keep it, target_culture: c%d },"+
				" input_map: { source_job_id: $steps.gen%d.result.job_id } }\n", g, l, g, l, g)
		}
	}
	path := filepath.Join(t.TempDir(), "campaign.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	p, _, ds, err := pipeline.Load(path, pipeline.Options{Mode: pipeline.Remote})
	if err != nil || ds.HasErrors() {
		t.Fatalf("%v %v", err, ds)
	}
	return p
}

// start is the logical run as it starts: every step pending.
func start(p *pipeline.Pipeline) *run.Run {
	r := &run.Run{ID: "logical", Status: run.Pending}
	for _, st := range p.Steps {
		r.Steps = append(r.Steps, run.Step{ID: st.ID, Action: st.Action, Status: run.StepPending, DependsOn: st.DependsOn})
	}
	return r
}

// runWaves cuts p and runs it on sb, returning the result and the events observed.
func runWaves(t *testing.T, sb *sandboxServer, p *pipeline.Pipeline) (*Result, []run.Event, error) {
	t.Helper()
	plan, err := Cut(pipeline.NewGraph(p), pipeline.MaxRemoteSteps, Together(p))
	if err != nil {
		t.Fatal(err)
	}
	var evs []run.Event
	res, err := Run(context.Background(), p, plan, start(p), Options{Client: sb.c, Interval: time.Second,
		Observe: func(e run.Event) { evs = append(evs, e) }})
	return res, evs, err
}

// TestRunTwentyFiveSteps is issue 23's test: 25 steps run on the simulated server (which,
// as the real one, refuses a run of more than 10 steps) in server runs of at most 10, the
// localizations given their generation's job id as a literal input, every job made once.
func TestRunTwentyFiveSteps(t *testing.T) {
	sb := newSandbox(t, 20*time.Millisecond)
	p := campaign(t, 4, 5, "") // 1 + 4*(1+5) = 25
	res, evs, err := runWaves(t, sb, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Status != run.Completed {
		t.Fatalf("status %s: %+v", res.Run.Status, res.Run.Steps)
	}
	jobs := map[string]string{}
	for _, s := range res.Run.Steps {
		if s.Status != run.StepCompleted || s.JobID == "" {
			t.Errorf("step %s: %s, job %q (%s)", s.ID, s.Status, s.JobID, s.Error)
		}
		if other, dup := jobs[s.JobID]; dup {
			t.Errorf("steps %s and %s share job %s", s.ID, other, s.JobID)
		}
		jobs[s.JobID] = s.ID
	}
	if len(sb.bodies) != 3 || len(res.ServerRuns) != 3 {
		t.Fatalf("%d server runs sent, %d recorded; want 3", len(sb.bodies), len(res.ServerRuns))
	}
	literal := 0
	for k, body := range sb.bodies {
		if len(body.Steps) > pipeline.MaxRemoteSteps {
			t.Errorf("server run %d has %d steps", k, len(body.Steps))
		}
		for _, s := range body.Steps {
			if src, ok := s.Input["source_job_id"].(string); ok {
				literal++
				g, _, _ := strings.Cut(strings.TrimPrefix(s.ID, "loc"), "-")
				gen := res.Run.Step("gen" + g)
				if src != gen.JobID {
					t.Errorf("%s got source_job_id %s, its generation's job is %s", s.ID, src, gen.JobID)
				}
			}
		}
	}
	if literal == 0 {
		t.Error("no step took an earlier wave's result as a literal input")
	}
	for _, sr := range res.ServerRuns {
		if sr.ID == "" || sr.Status != run.Completed {
			t.Errorf("server run %+v", sr)
		}
	}
	if last := evs[len(evs)-1]; last.StepID != "" || last.Status != string(run.Completed) {
		t.Errorf("last event %+v, want the logical run completed", last)
	}
	if n := sb.count(t, "jobs"); n != 25 {
		t.Errorf("the sandbox made %d jobs for 25 steps", n)
	}
	if n := sb.count(t, "runs"); n != 3 {
		t.Errorf("the sandbox has %d runs, want 3", n)
	}
}

// TestRunFailedWaveStopsLater: a wave whose server run fails stops the waves that were
// not sent: they are not sent, their steps are skipped, the logical run fails.
func TestRunFailedWaveStopsLater(t *testing.T) {
	sb := newSandbox(t, 20*time.Millisecond)
	// brand, gen0 (fails), 10 localizations of it: gen0 and 8 in the first wave.
	p := campaign(t, 1, 10, "gen0")
	res, _, err := runWaves(t, sb, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Status != run.Failed {
		t.Fatalf("status %s", res.Run.Status)
	}
	if len(sb.bodies) != 1 {
		t.Fatalf("%d server runs sent, want 1: the second wave needs the first", len(sb.bodies))
	}
	second := res.ServerRuns[1]
	if second.ID != "" || second.Status != "" {
		t.Errorf("wave 2 = %+v, want not sent", second)
	}
	for _, id := range second.Steps {
		if s := res.Run.Step(id); s.Status != run.StepSkipped || s.Error != "not sent: wave 1 failed" {
			t.Errorf("step %s: %s %q", id, s.Status, s.Error)
		}
	}
	if s := res.Run.Step("gen0"); s.Status != run.StepFailed {
		t.Errorf("gen0: %s", s.Status)
	}
}

// TestRunTimeoutSaysWhatGoesOn: the deadline stops following; the server runs created go
// on, and the waves not sent are not.
func TestRunTimeoutSaysWhatGoesOn(t *testing.T) {
	sb := newSandbox(t, time.Hour)
	p := campaign(t, 1, 10, "")
	plan, err := Cut(pipeline.NewGraph(p), pipeline.MaxRemoteSteps, Together(p))
	if err != nil {
		t.Fatal(err)
	}
	created := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-created
		cancel() // Ctrl-C once the first server run exists
	}()
	res, err := Run(ctx, p, plan, start(p), Options{Client: sb.c, Interval: time.Second,
		Created: func(id string, _ []string) { created <- id }})
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	going := res.GoingOn()
	if len(going) != 1 || going[0].Wave != 1 || going[0].ID == "" {
		t.Fatalf("going on: %+v", going)
	}
	if len(sb.bodies) != 1 || res.Run.Status != run.InProgress {
		t.Errorf("%d runs sent, status %s", len(sb.bodies), res.Run.Status)
	}
}
