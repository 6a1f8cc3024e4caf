package actions

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/piapi"
)

// keyedJobs fails the first creation with a lost answer, then creates jobs that fail (so
// the step needs a new job), recording the Idempotency-Key of each creation.
type keyedJobs struct {
	mu   sync.Mutex
	keys []string
}

func (k *keyedJobs) CreateJob(ctx context.Context, action string, input map[string]any, key string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append(k.keys, key)
	if len(k.keys) == 1 {
		return "", &engine.StepError{Err: errors.New("reset"), Transient: true}
	}
	return "job-" + key, nil
}

func (k *keyedJobs) WaitJob(ctx context.Context, id string) (*Job, error) {
	return &Job{ID: id, Status: "failed", ErrorLog: "model down"}, nil
}

// Every attempt of one job creation carries the same key; once a job exists (and failed),
// the next attempt is a new creation with a new key.
func TestOneIdempotencyKeyPerJobCreation(t *testing.T) {
	api := &keyedJobs{}
	p := &Pi{API: api}
	r := req("campaigns.generate", map[string]any{"prompt": "p"})
	for attempt := 1; attempt <= 3; attempt++ {
		r.Attempt = attempt
		if _, err := p.Execute(context.Background(), r); !transient(err) {
			t.Fatalf("attempt %d: err = %v, want transient", attempt, err)
		}
	}
	k := api.keys
	if len(k) != 3 || k[0] == "" || k[0] != k[1] || k[2] == k[1] {
		t.Fatalf("keys %q: want the lost creation's key reused once, then a new one", k)
	}
	other := req("campaigns.generate", nil)
	other.Step.ID = "other"
	p.Execute(context.Background(), other)
	if last := api.keys[len(api.keys)-1]; last == k[2] {
		t.Fatal("two steps share a key")
	}
}

// Through the real client: a lost answer of brands/extract is a permanent step failure
// (never retried by the engine) that says the job may exist.
func TestExtractLostAnswerIsPermanent(t *testing.T) {
	var posts atomic.Int32 // the handler runs on the server's goroutine
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}))
	defer srv.Close()
	c, err := piapi.New(piapi.Config{BaseURL: srv.URL, APIKey: "pi_test_0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = PiJobs(c).CreateJob(context.Background(), "brands.extract", map[string]any{"url": "https://x.example"}, "k-1")
	if err == nil || transient(err) || posts.Load() != 1 || !strings.Contains(err.Error(), "the job may have been created") ||
		!strings.Contains(err.Error(), "k-1") {
		t.Fatalf("err = %v (transient %v), posts %d", err, transient(err), posts.Load())
	}
}

// The local engine's Retry-After is the one capped parser's: a server asking for 27 hours
// (or a date in 2100) gets at most backoff.MaxRetryAfter.
func TestHTTPRequestRetryAfterCapped(t *testing.T) {
	for _, ra := range []string{"99999", "Fri, 01 Jan 2100 00:00:00 GMT"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", ra)
			w.WriteHeader(429)
		}))
		_, err := Local().Execute(context.Background(), req("http.request", map[string]any{"url": srv.URL}))
		srv.Close()
		var se *engine.StepError
		if !errors.As(err, &se) || !se.Transient || se.RetryAfter != backoff.MaxRetryAfter {
			t.Fatalf("Retry-After %q: err = %#v, want transient with a %s hint", ra, err, backoff.MaxRetryAfter)
		}
	}
}
