package piapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/run"
)

const followID = "0b5d4c1e-1111-4222-8333-444455556666"

// runAnswer is a GET /api/v1/runs/:id answer in the server's envelope.
func runAnswer(status string) string {
	return `{"id":"req_pi_1","object":"run","status":"completed","data":{"id":"` + followID +
		`","status":"` + status + `","steps":[{"id":"a","action":"brands.extract","status":"pending","depends_on":[]}]}}`
}

// decodeRunData reads the data of a GET answer.
func decodeRunData(body string) (*run.Run, error) {
	var env struct {
		Data run.Run `json:"data"`
	}
	err := json.Unmarshal([]byte(body), &env)
	return &env.Data, err
}

// warnings is a FollowObserver that keeps the warnings, one a line.
type warnings struct{ bytes.Buffer }

func (w *warnings) Start(*run.Run)            {}
func (w *warnings) Event(run.Event, *run.Run) {}
func (w *warnings) Warn(msg string)           { w.WriteString(msg + "\n") }

// testFollow is a Follow against h with a fake clock; the client tries each request once,
// so Follow's own retry is what is tested.
type testFollow struct {
	c   *Client
	obs FollowObserver
	o   FollowOptions
}

func (tf *testFollow) follow(ctx context.Context, prev *run.Run, id string) (*run.Run, error) {
	return tf.c.Follow(ctx, id, prev, tf.obs, tf.o)
}

func testFollower(t *testing.T, h http.HandlerFunc, refresh, timeout time.Duration) (*testFollow, *clock.Fake, *warnings) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := &warnings{}
	ft := clock.NewAuto(time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)) // moves only when Follow waits
	o := FollowOptions{Interval: refresh, Clock: ft}
	if timeout > 0 {
		o.Deadline = ft.Now().Add(timeout)
	}
	return &testFollow{c: c, obs: w, o: o}, ft, w
}

// The request budget (README, Output): over a minute of a run that does not end, at most 31
// requests with progress shown and 3 with -o json, even against a server that answers at
// once instead of holding the long-poll. pi run spends one on the create and starts from
// its answer; pi runs get --wait spends one on a first look at the run instead.
func TestFollowRequestBudget(t *testing.T) {
	pending, err := decodeRunData(runAnswer("pending"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		progress bool
		shown    bool // pi run: the create's answer is shown; else pi runs get --wait
		gets     int  // GETs in the minute (pi run adds its POST)
	}{
		{"run/progress", true, true, 30}, {"run/json", false, true, 2},
		{"runs-get/progress", true, false, 31}, {"runs-get/json", false, false, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var asked []string
			fw, _, _ := testFollower(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				asked = append(asked, r.URL.Query().Get("timeout_seconds"))
				n := len(asked)
				mu.Unlock()
				if n > 100 { // a follower polling in a loop: end the run so the test fails, not hangs
					fmt.Fprint(w, runAnswer("completed"))
					return
				}
				fmt.Fprint(w, runAnswer("in_progress"))
			}, FollowInterval(tt.progress), time.Minute)
			var prev *run.Run
			if tt.shown {
				prev = pending
			}
			_, err := fw.follow(context.Background(), prev, followID)
			if len(asked) != tt.gets {
				t.Fatalf("%d GETs in a minute, want %d (timeout_seconds asked: %q)", len(asked), tt.gets, asked)
			}
			want := fmt.Sprint(int(FollowInterval(tt.progress) / time.Second))
			for i, a := range asked {
				if first := i == 0 && !tt.shown; (first && a != "") || (!first && a != want) {
					t.Fatalf("timeout_seconds = %q, want %s on each long-poll", asked, want)
				}
			}
			if err != ErrFollowTimeout {
				t.Fatalf("err = %v, want the timeout", err)
			}
		})
	}
}

// Transient failures that piapi gave up on: one warning, backoff growing with full jitter
// under its ceiling, then the run is followed to its end.
func TestFollowBacksOffOnTransientErrors(t *testing.T) {
	var n atomic.Int32
	fw, ft, errOut := testFollower(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 4 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(503)
			fmt.Fprint(w, `{"error":{"type":"api_error","code":"service_unavailable","message":"down","request_id":"req_pi_x"}}`)
			return
		}
		fmt.Fprint(w, runAnswer("completed"))
	}, 5*time.Second, 0)
	r, err := fw.follow(context.Background(), nil, followID)
	if err != nil || r.Status != "completed" {
		t.Fatalf("follow = %v, %v; want the completed run", r, err)
	}
	if got := strings.Count(errOut.String(), "still trying"); got != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", got, errOut.String())
	}
	if len(ft.Waits()) != 4 {
		t.Fatalf("sleeps %v, want 4 (one per failure)", ft.Waits())
	}
	for i, d := range ft.Waits() {
		if ceil := backoff.Follow.Base << i; d < backoff.Follow.Min || d > ceil {
			t.Fatalf("sleep %d = %v, want within [100ms, %v]", i+1, d, ceil)
		}
	}
}

// A 429's Retry-After is a floor for the wait.
func TestFollowHonoursRetryAfter(t *testing.T) {
	var n atomic.Int32
	fw, ft, _ := testFollower(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"error":{"type":"rate_limit_error","code":"unkey_rate_limited","message":"slow down","request_id":"req_pi_y"}}`)
			return
		}
		fmt.Fprint(w, runAnswer("completed"))
	}, 5*time.Second, 0)
	if _, err := fw.follow(context.Background(), nil, followID); err != nil {
		t.Fatal(err)
	}
	if len(ft.Waits()) != 1 || ft.Waits()[0] < 7*time.Second {
		t.Fatalf("sleeps %v, want one of at least 7s", ft.Waits())
	}
}

// A server that stays down until --timeout: the timeout, not an API error (exit 5, not 4).
func TestFollowTransientUntilTimeout(t *testing.T) {
	fw, _, _ := testFollower(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
	}, 5*time.Second, 2*time.Minute)
	if _, err := fw.follow(context.Background(), nil, followID); err != ErrFollowTimeout {
		t.Fatalf("err = %v, want the timeout", err)
	}
}

// A permanent error (the run is unknown) ends following at once.
func TestFollowPermanentError(t *testing.T) {
	var n atomic.Int32
	fw, ft, _ := testFollower(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(404)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"run_not_found","message":"Run not found.","request_id":"req_pi_z"}}`)
	}, 5*time.Second, 0)
	_, err := fw.follow(context.Background(), nil, followID)
	var ae *Error
	if !errors.As(err, &ae) || ae.HTTPStatus != 404 || n.Load() != 1 || len(ft.Waits()) != 0 {
		t.Fatalf("err %v after %d requests and sleeps %v; want the 404 after 1", err, n.Load(), ft.Waits())
	}
}

// recorder is a FollowObserver that notes when (on the fake clock) it saw each step status.
type recorder struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[string]time.Time // "step status" -> first seen
}

func (r *recorder) note(snap *run.Run) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range snap.Steps {
		k := s.ID + " " + string(s.Status)
		if _, ok := r.seen[k]; !ok {
			r.seen[k] = r.now()
		}
	}
}
func (r *recorder) Start(snap *run.Run)           { r.note(snap) }
func (r *recorder) Event(_ run.Event, s *run.Run) { r.note(s) }
func (r *recorder) Warn(string)                   {}

// A fake server on the fake clock: step a starts at 0.5 s, b at 4.3 s, the run ends at
// 6.2 s. Every change is on screen within the 2 s interval, and the end at once: the
// server holds a long-poll until its timeout_seconds pass or the run ends.
func TestFollowShowsChangesWithinTheInterval(t *testing.T) {
	var fw *testFollow
	var ft *clock.Fake
	t0 := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)
	changes := []struct {
		at     time.Duration
		a, b   string
		status string
	}{
		{0, "pending", "pending", "pending"},
		{500 * time.Millisecond, "processing", "pending", "in_progress"},
		{4300 * time.Millisecond, "completed", "processing", "in_progress"},
		{6200 * time.Millisecond, "completed", "completed", "completed"},
	}
	state := func(at time.Duration) string {
		c := changes[0]
		for _, x := range changes {
			if x.at <= at {
				c = x
			}
		}
		return `{"id":"req_pi_1","object":"run","status":"completed","data":{"id":"` + followID + `","status":"` + c.status +
			`","created_at":1795874040,"steps":[{"id":"a","action":"brands.extract","status":"` + c.a + `","depends_on":[]},` +
			`{"id":"b","action":"campaigns.generate","status":"` + c.b + `","depends_on":["a"]}]}}`
	}
	var asked []string
	fw, ft, _ = testFollower(t, func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.Query().Get("timeout_seconds"))
		now := ft.Now().Sub(t0)
		if r.URL.Query().Get("wait_for_completion") == "true" {
			secs, _ := time.ParseDuration(r.URL.Query().Get("timeout_seconds") + "s")
			end := now + secs
			if last := changes[len(changes)-1].at; last > now && last <= end {
				end = last // the run ended: the long-poll answers at once
			}
			clock.Sleep(r.Context(), ft, end-now)
			now = end
		}
		fmt.Fprint(w, state(now))
	}, FollowInterval(true), 0)
	rec := &recorder{now: ft.Now, seen: map[string]time.Time{}}
	fw.obs = rec
	shown, _ := decodeRunData(state(0))
	rec.Start(shown)
	r, err := fw.follow(context.Background(), shown, followID)
	if err != nil || r.Status != run.Completed {
		t.Fatalf("follow = %v, %v", r, err)
	}
	for i, c := range changes[1:] {
		prev := changes[i]
		for _, k := range []struct{ now, before, name string }{{c.a, prev.a, "a "}, {c.b, prev.b, "b "}} {
			if k.now == k.before {
				continue
			}
			seen, ok := rec.seen[k.name+k.now]
			if !ok {
				t.Fatalf("%s%s never shown (seen %v)", k.name, k.now, rec.seen)
			}
			if lag := seen.Sub(t0) - c.at; lag < 0 || lag > 2*time.Second {
				t.Errorf("%s%s shown %v after it happened, want within the 2s interval", k.name, k.now, lag)
			}
		}
	}
	if got := rec.seen["b completed"].Sub(t0); got != 6200*time.Millisecond {
		t.Errorf("the end shown at %v, want at once (6.2s)", got)
	}
	for _, a := range asked {
		if a != "2" {
			t.Fatalf("timeout_seconds asked %q, want 2 each time", asked)
		}
	}
}
