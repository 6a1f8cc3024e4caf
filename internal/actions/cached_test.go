package actions

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/pipeline"
)

// replayJobs is a Pi server as the Paying wrapper sees it: campaign creations with a known
// Idempotency-Key replay the job they made; jobs are done when first waited for.
type replayJobs struct {
	mu      sync.Mutex
	byKey   map[string]string
	status  map[string]catalog.JobStatus
	created int
}

func newReplayJobs() *replayJobs {
	return &replayJobs{byKey: map[string]string{}, status: map[string]catalog.JobStatus{}}
}

func (s *replayJobs) CreateJob(_ context.Context, action string, _ map[string]any, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byKey[key]; ok && key != "" {
		return id, nil
	}
	s.created++
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.created)
	s.byKey[key], s.status[id] = id, catalog.JobProcessing
	return id, nil
}

func (s *replayJobs) WaitJob(_ context.Context, id string) (*Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status[id] == catalog.JobProcessing {
		s.status[id] = catalog.JobCompleted
	}
	return &Job{ID: id, Type: catalog.JobAdGeneration, Status: s.status[id], ResultURL: "https://img.test/" + id}, nil
}

// Job and RunStep: what the cache's verification asks.
func (s *replayJobs) Job(_ context.Context, id string, _ bool) (*cache.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.status[id]
	if !ok {
		return nil, cache.ErrNoJob
	}
	return &cache.Job{ID: id, Type: catalog.JobAdGeneration, Status: string(st), ResultURL: "https://img.test/" + id}, nil
}

func (s *replayJobs) RunStep(context.Context, string, string, bool) (string, string, error) {
	return "", "", cache.ErrNoJob
}

func paying(t *testing.T, path string, srv *replayJobs, maxJobs int) *Paying {
	t.Helper()
	c, err := cache.Open(context.Background(), path, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &Paying{API: srv, Cache: c, Policy: cache.Policy{Server: cache.Sandbox, Jobs: srv}, MaxJobs: maxJobs}
}

var hero = &pipeline.Step{ID: "hero", Action: "campaigns.generate"}

// Never pay twice, at each crash point of a local run: a pi killed after creating a job
// (claimed, not recorded) leaves the next pi that job to wait for; one killed while the
// creation's answer was on its way leaves the claim's Idempotency-Key, which the server
// replays; a completed job is reused without a creation.
func TestPayingCrashPoints(t *testing.T) {
	ctx := context.Background()
	in := map[string]any{"prompt": "a hero"}
	for _, crash := range []string{"after the creation", "before the answer"} {
		t.Run(crash, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cache.db")
			srv := newReplayJobs()
			first := paying(t, path, srv, -1)
			if r := first.Reuse(ctx, hero, in); r.JobID != "" || r.Attach != "" {
				t.Fatalf("an empty cache reused %+v", r)
			}
			if crash == "before the answer" {
				// The creation reached the server; pi died before its answer came back.
				k, _ := cache.NewKey("campaigns.generate", in, cache.Sandbox)
				cl, err := first.Cache.Claim(ctx, k, "hero")
				if err != nil {
					t.Fatal(err)
				}
				srv.CreateJob(ctx, "campaigns.generate", in, cl.IdemKey)
			} else if _, err := first.CreateJob(ctx, "campaigns.generate", in, "engine-key"); err != nil {
				t.Fatal(err)
			}
			// A new pi on the same cache.
			second := paying(t, path, srv, -1)
			got := second.Reuse(ctx, hero, in)
			if crash == "after the creation" && got.Attach == "" {
				t.Fatalf("the job made by the killed pi is not waited for: %+v", got)
			}
			id := got.Attach
			if id == "" {
				if id, _ = second.CreateJob(ctx, "campaigns.generate", in, "another-engine-key"); id == "" {
					t.Fatal("no job")
				}
			}
			if _, err := second.WaitJob(ctx, id); err != nil {
				t.Fatal(err)
			}
			if srv.created != 1 {
				t.Fatalf("the server made %d jobs", srv.created)
			}
			third := paying(t, path, srv, -1)
			if r := third.Reuse(ctx, hero, in); r.JobID != id || r.Result["job_id"] != id {
				t.Errorf("after it completed: %+v", r)
			}
		})
	}
}

// --max-jobs under --local counts every creation, retries included; --cache=read claims
// and records nothing.
func TestPayingBudgetAndReadMode(t *testing.T) {
	ctx := context.Background()
	srv := newReplayJobs()
	p := paying(t, filepath.Join(t.TempDir(), "cache.db"), srv, 1)
	p.Policy.Mode = cache.Read
	in := map[string]any{"prompt": "x"}
	p.Reuse(ctx, hero, in)
	if _, err := p.CreateJob(ctx, "campaigns.generate", in, "k1"); err != nil {
		t.Fatal(err)
	}
	_, err := p.CreateJob(ctx, "campaigns.generate", in, "k1") // a retry of the same creation
	if !errors.Is(err, ErrBudget) || transient(err) || p.Created() != 2 {
		t.Fatalf("second creation: %v (created %d)", err, p.Created())
	}
	k, _ := cache.NewKey("campaigns.generate", in, cache.Sandbox)
	if cl, _ := p.Cache.Claimed(ctx, k); cl != nil {
		t.Errorf("read mode claimed %+v", cl)
	}
	if e, _ := p.Cache.Latest(ctx, k); e != nil {
		t.Errorf("read mode recorded %+v", e)
	}
}
