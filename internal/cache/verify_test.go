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

func (f *fakeJobs) RunStep(context.Context, string, string, bool) (string, string, error) {
	return "", "", fmt.Errorf("no runs: %w", ErrNoJob)
}

func (f *fakeJobs) Job(_ context.Context, id string, _ bool) (*Job, error) {
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

// claimServer has jobs and runs' steps; a wait makes a processing job complete, and a
// pending run step start its job, as time passing would.
type claimServer struct {
	jobs  map[string]*Job
	steps map[string][2]string // run/step -> status, job
	err   error
}

func (s *claimServer) Job(_ context.Context, id string, wait bool) (*Job, error) {
	if s.err != nil {
		return nil, s.err
	}
	j, ok := s.jobs[id]
	if !ok {
		return nil, ErrNoJob
	}
	if wait && j.Status == "processing" {
		j.Status = "completed"
	}
	c := *j
	return &c, nil
}

func (s *claimServer) RunStep(_ context.Context, runID, step string, wait bool) (string, string, error) {
	st, ok := s.steps[runID+"/"+step]
	if !ok {
		return "", "", ErrNoJob
	}
	if wait && st[0] == "pending" {
		st = [2]string{"processing", "j-run"}
		s.steps[runID+"/"+step] = st
		s.jobs["j-run"] = &Job{ID: "j-run", Type: "campaign_ad_generation", Status: "processing"}
	}
	return st[0], st[1], nil
}

// A claim is what a pi left when it made a job and did not live to record it (or what
// another pi is making): its job is reused once completed, waited for while it is made,
// and forgotten when it failed; a claim whose creation's answer was lost keeps its
// Idempotency-Key for the next creation.
func TestFindClaims(t *testing.T) {
	ctx := context.Background()
	ad := func(status string) *Job {
		return &Job{Type: "campaign_ad_generation", Status: status, ResultURL: "https://img.test/x.png"}
	}
	for _, tt := range []struct {
		name    string
		job     string // the claim's job
		run     string // the claim's run
		srv     *claimServer
		first   Outcome // what Find says
		final   Outcome // what Await says
		claimed bool    // a claim is left
		cached  bool    // an entry is made
	}{
		{"a completed job", "j1", "", &claimServer{jobs: map[string]*Job{"j1": ad("completed")}}, Reuse, Reuse, false, true},
		{"a job still made", "j1", "", &claimServer{jobs: map[string]*Job{"j1": ad("processing")}}, Pending, Reuse, false, true},
		{"a failed job", "j1", "", &claimServer{jobs: map[string]*Job{"j1": ad("failed")}}, Gone, Gone, false, false},
		{"the server cannot be asked", "j1", "", &claimServer{err: errors.New("connection reset")}, Unverified, Unverified, true, false},
		{"a run's step that made its job", "", "r1", &claimServer{jobs: map[string]*Job{"j9": ad("completed")}, steps: map[string][2]string{"r1/hero": {"completed", "j9"}}}, Reuse, Reuse, false, true},
		{"a run's step not started yet", "", "r1", &claimServer{jobs: map[string]*Job{}, steps: map[string][2]string{"r1/hero": {"pending", ""}}}, Pending, Reuse, false, true},
		{"a run's step that never will", "", "r1", &claimServer{steps: map[string][2]string{"r1/hero": {"skipped", ""}}}, Miss, Miss, false, false},
		{"a run the server does not have", "", "r1", &claimServer{steps: map[string][2]string{}}, Miss, Miss, false, false},
		{"a creation whose answer was lost", "", "", &claimServer{}, Miss, Miss, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := open(t, filepath.Join(t.TempDir(), "cache.db"), Options{})
			k := key(t, "hero")
			cl, err := c.Claim(ctx, k, "hero")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.job != "":
				err = c.ClaimJob(ctx, k, tt.job)
			case tt.run != "":
				err = c.ClaimRun(ctx, k, tt.run, "hero")
			}
			if err != nil {
				t.Fatal(err)
			}
			hit, err := c.Find(ctx, k, tt.srv)
			if err != nil || hit.Verdict.Outcome != tt.first {
				t.Fatalf("Find: %+v, %v; want outcome %d", hit.Verdict, err, tt.first)
			}
			if hit, err = c.Await(ctx, hit, tt.srv); err != nil || hit.Verdict.Outcome != tt.final {
				t.Fatalf("Await: %+v, %v; want outcome %d", hit.Verdict, err, tt.final)
			}
			if tt.final == Reuse && (hit.JobID == "" || hit.Verdict.Result["job_id"] != hit.JobID) {
				t.Errorf("reused %q with %v", hit.JobID, hit.Verdict.Result)
			}
			left, _ := c.Claimed(ctx, k)
			if (left != nil) != tt.claimed || left != nil && tt.job == "" && tt.run == "" && left.IdemKey != cl.IdemKey {
				t.Errorf("claim left: %+v", left)
			}
			if e, _ := c.Latest(ctx, k); (e != nil) != tt.cached {
				t.Errorf("entry: %+v", e)
			}
		})
	}
}
