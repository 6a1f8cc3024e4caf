package actions

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/pipeline"
)

func req(action string, in map[string]any) engine.Request {
	return engine.Request{RunID: "r", Step: &pipeline.Step{ID: "s", Action: action}, Input: in, Attempt: 1, SetJobID: func(string) {}}
}

func TestShellRun(t *testing.T) {
	tests := []struct {
		name    string
		in      map[string]any
		want    map[string]any
		wantErr string
	}{
		{"json object", map[string]any{"script": `echo '{"a": 1}'`}, map[string]any{"a": 1.0}, ""},
		{"plain argv", map[string]any{"command": []any{"echo", "hi there"}}, map[string]any{"stdout": "hi there\n", "stderr": "", "exit_code": 0}, ""},
		{"env and stdin", map[string]any{"script": `cat; echo "$N"`, "env": map[string]any{"N": map[string]any{"k": 2}}, "stdin": "in-"}, map[string]any{"stdout": "in-{\"k\":2}\n", "stderr": "", "exit_code": 0}, ""},
		{"non-zero exit", map[string]any{"script": "echo one >&2; echo boom >&2; exit 3"}, nil, "exited with status 3: one\nboom"},
		{"no input", map[string]any{}, nil, "needs command"},
		{"no output", map[string]any{"command": []any{"true"}}, map[string]any{"stdout": "", "stderr": "", "exit_code": 0}, ""},
		{"only stderr", map[string]any{"script": "echo e >&2"}, map[string]any{"stdout": "", "stderr": "e\n", "exit_code": 0}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Local().Execute(context.Background(), req("shell.run", tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) && !strings.Contains(err.Error(), tt.wantErr) || transient(err) {
					t.Fatalf("err = %v, want permanent ending %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("%s = %#v, want %#v (all %v)", k, got[k], v, got)
				}
			}
		})
	}
}

// Cancelling kills the whole process group: the sleeping grandchild too, so Execute
// returns promptly even though sh's child holds the output pipe.
func TestShellRunCancelKillsGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := shellRun(ctx, req("shell.run", map[string]any{"script": "echo started; sleep 60; echo never"}))
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(10 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("shell.run did not return after cancellation")
	}
}

func TestHTTPRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"method":"` + r.Method + `"}`))
		case "/busy":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		case "/missing":
			w.WriteHeader(404)
		default:
			w.Write([]byte("plain"))
		}
	}))
	defer srv.Close()
	tests := []struct {
		name      string
		in        map[string]any
		check     func(map[string]any) bool
		transient bool
		fails     bool
		retry     time.Duration
	}{
		{"get json", map[string]any{"url": srv.URL + "/json"}, func(m map[string]any) bool { return m["json"].(map[string]any)["method"] == "GET" }, false, false, 0},
		{"post by json", map[string]any{"url": srv.URL + "/json", "json": map[string]any{"a": 1}}, func(m map[string]any) bool { return m["json"].(map[string]any)["method"] == "POST" }, false, false, 0},
		{"body", map[string]any{"url": srv.URL + "/x"}, func(m map[string]any) bool { return m["body"] == "plain" && m["status"] == 200 }, false, false, 0},
		{"429 transient", map[string]any{"url": srv.URL + "/busy"}, nil, true, true, 7 * time.Second},
		{"404 permanent", map[string]any{"url": srv.URL + "/missing"}, nil, false, true, 0},
		{"404 expected", map[string]any{"url": srv.URL + "/missing", "expect_status": 404.0}, func(m map[string]any) bool { return m["status"] == 404 }, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Local().Execute(context.Background(), req("http.request", tt.in))
			if tt.fails {
				se, ok := err.(*engine.StepError)
				if !ok || se.Transient != tt.transient || se.RetryAfter != tt.retry {
					t.Fatalf("err = %#v", err)
				}
				return
			}
			if err != nil || !tt.check(got) {
				t.Fatalf("got %v, %v", got, err)
			}
		})
	}
}

type fakeJobs struct {
	polls  int
	final  Job
	create error
}

func (f *fakeJobs) CreateJob(ctx context.Context, action string, input map[string]any, key string) (string, error) {
	return "j-1", f.create
}

func (f *fakeJobs) WaitJob(ctx context.Context, id string) (*Job, error) {
	f.polls++
	if f.polls < 3 {
		return &Job{ID: id, Status: "processing"}, nil
	}
	j := f.final
	return &j, nil
}

func TestPiAction(t *testing.T) {
	tests := []struct {
		name      string
		final     Job
		wantKey   string
		wantVal   any
		transient bool
	}{
		{"extraction", Job{Type: "brand_extraction", Status: "completed", ResultURL: "brands/b-9"}, "brand_id", "b-9", false},
		{"ad", Job{Type: "campaign_ad_generation", Status: "completed", Payload: map[string]any{"image_url": "https://x/i.png"}}, "image_url", "https://x/i.png", false},
		{"failed job is transient", Job{Status: "failed", ErrorLog: "model down"}, "error_log", "model down", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var jobID string
			r := req("brands.extract", map[string]any{"url": "https://e.com"})
			r.SetJobID = func(id string) { jobID = id }
			reg := Registry{}.WithPi(&fakeJobs{final: tt.final}, "brands.extract")
			reg["brands.extract"].(*Pi).Clock = clock.NewAuto(time.Unix(0, 0)) // the polls' floor passes at once
			got, err := reg.Execute(context.Background(), r)
			if jobID != "j-1" {
				t.Fatalf("job id %q not recorded", jobID)
			}
			if tt.transient {
				se, ok := err.(*engine.StepError)
				if !ok || !se.Transient || se.Result[tt.wantKey] != tt.wantVal {
					t.Fatalf("err = %#v", err)
				}
				return
			}
			if err != nil || got[tt.wantKey] != tt.wantVal || got["job_id"] != "j-1" {
				t.Fatalf("got %v, %v", got, err)
			}
		})
	}
}

// transient reports whether err is a step failure that may be retried.
func transient(err error) bool {
	var se *engine.StepError
	return errors.As(err, &se) && se.Transient
}

// shellRun runs one shell.run step with an executor of its own, as a run's first step is.
func shellRun(ctx context.Context, req engine.Request) (map[string]any, error) {
	return (&Shell{}).Execute(ctx, req)
}
