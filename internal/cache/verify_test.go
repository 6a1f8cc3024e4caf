package cache

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// fakeJobs is a server's jobs, by id; err answers every request when set.
type fakeJobs struct {
	jobs  map[string]*Job
	err   error
	asked int
}

func (f *fakeJobs) Job(_ context.Context, id string) (*Job, error) {
	f.asked++
	if f.err != nil {
		return nil, f.err
	}
	j, ok := f.jobs[id]
	if !ok {
		return nil, fmt.Errorf("GET /jobs/%s: 404 job_not_found: %w", id, ErrNoJob)
	}
	return j, nil
}

func TestFind(t *testing.T) {
	ctx := context.Background()
	done := &Job{ID: "j1", Type: "campaign_ad_generation", Status: "completed", ResultURL: "https://img.test/new.png",
		Payload: map[string]any{"image_url": "https://img.test/new.png"}}
	for _, tt := range []struct {
		name    string
		jobs    *fakeJobs
		outcome Outcome
		kept    bool
	}{
		{"completed, of the action's type", &fakeJobs{jobs: map[string]*Job{"j1": done}}, Reuse, true},
		{"gone from the server", &fakeJobs{jobs: map[string]*Job{}}, Gone, false},
		{"failed", &fakeJobs{jobs: map[string]*Job{"j1": {Type: "campaign_ad_generation", Status: "failed"}}}, Gone, false},
		{"another type", &fakeJobs{jobs: map[string]*Job{"j1": {Type: "brand_extraction", Status: "completed"}}}, Gone, false},
		{"not completed", &fakeJobs{jobs: map[string]*Job{"j1": {Type: "campaign_ad_generation", Status: "processing"}}}, Gone, false},
		{"the server cannot be asked", &fakeJobs{err: errors.New("dial tcp: connection refused")}, Unverified, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := open(t, filepath.Join(t.TempDir(), "cache.db"), Options{})
			k := key(t, "hero")
			if err := c.Put(ctx, k, "hero", "j1", adResult("j1")); err != nil {
				t.Fatal(err)
			}
			hit, err := c.Find(ctx, k, tt.jobs)
			if err != nil {
				t.Fatal(err)
			}
			if hit.Verdict.Outcome != tt.outcome || hit.Found() != (tt.outcome == Reuse) || tt.jobs.asked != 1 {
				t.Errorf("verdict %+v (asked %d)", hit.Verdict, tt.jobs.asked)
			}
			if tt.outcome == Reuse && hit.Verdict.Result["image_url"] != "https://img.test/new.png" {
				t.Errorf("result %v, want the server's", hit.Verdict.Result)
			}
			if tt.outcome != Reuse && hit.Verdict.Reason == "" {
				t.Error("no reason")
			}
			if e, _ := c.Latest(ctx, k); (e != nil) != tt.kept {
				t.Errorf("entry kept = %v", e != nil)
			}
		})
	}
}

// A cached local action (shell.run with cache: true) has no job to ask about: its own
// result is reused.
func TestFindLocalAction(t *testing.T) {
	ctx := context.Background()
	c := open(t, filepath.Join(t.TempDir(), "cache.db"), Options{})
	k, err := NewKey("shell.run", map[string]any{"command": []any{"make", "assets"}}, Local)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, k, "assets", "", map[string]any{"stdout": "ok\n", "stderr": "", "exit_code": 0}); err != nil {
		t.Fatal(err)
	}
	jobs := &fakeJobs{}
	hit, err := c.Find(ctx, k, jobs)
	if err != nil || !hit.Found() || hit.Verdict.Result["stdout"] != "ok\n" || jobs.asked != 0 {
		t.Errorf("hit %+v, %v, asked %d", hit, err, jobs.asked)
	}
}
