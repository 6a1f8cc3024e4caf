package actions

import (
	"context"
	"fmt"
	"testing"

	"github.com/pi-cli/pi/internal/piapi"
)

// jobsByID is a JobAPI that knows some jobs and records the jobs it is asked to create.
type jobsByID struct {
	jobs    map[string]Job
	created int
}

func (j *jobsByID) CreateJob(ctx context.Context, action string, input map[string]any, key string) (string, error) {
	j.created++
	id := fmt.Sprintf("new-%d", j.created)
	j.jobs[id] = Job{ID: id, Type: "brand_extraction", Status: "completed", ResultURL: "brands/b-new"}
	return id, nil
}

func (j *jobsByID) WaitJob(ctx context.Context, id string) (*Job, error) {
	job, ok := j.jobs[id]
	if !ok {
		return nil, &piapi.Error{HTTPStatus: 404, Code: "job_not_found"}
	}
	return &job, nil
}

// A resumed step waits for the job its interrupted run started, unless the server does not
// know it or it failed: then it starts a new one.
func TestPiActionReattaches(t *testing.T) {
	for _, tt := range []struct {
		name, resume, wantJob string
		wantCreated           int
	}{
		{"known job", "old", "old", 0},
		{"unknown to the server", "lost", "new-1", 1},
		{"failed job", "bad", "new-1", 1},
		{"no earlier job", "", "new-1", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := &jobsByID{jobs: map[string]Job{
				"old": {ID: "old", Type: "brand_extraction", Status: "completed", ResultURL: "brands/b-old"},
				"bad": {ID: "bad", Type: "brand_extraction", Status: "failed", ErrorLog: "boom"},
			}}
			r := req("brands.extract", map[string]any{"url": "https://e.com"})
			r.ResumeJobID = tt.resume
			var recorded string
			r.SetJobID = func(id string) { recorded = id }
			got, err := (&Pi{API: api}).Execute(context.Background(), r)
			if err != nil || got["job_id"] != tt.wantJob || recorded != tt.wantJob || api.created != tt.wantCreated {
				t.Fatalf("result %v, err %v, job id recorded %q, %d created; want job %s, %d created",
					got, err, recorded, api.created, tt.wantJob, tt.wantCreated)
			}
		})
	}
}
