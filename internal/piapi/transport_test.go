package piapi

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
	"time"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/clock"
)

const testKey = "pi_live_0123456789abcdef"

// client returns a client of url on a fake clock, whose waits end at once and are listed.
func client(t *testing.T, url string, hc *http.Client) (*Client, *clock.Fake) {
	t.Helper()
	sleeps := clock.NewAuto(time.Now())
	c, err := New(Config{BaseURL: url, APIKey: testKey, HTTPClient: hc, Clock: sleeps})
	if err != nil {
		t.Fatal(err)
	}
	return c, sleeps
}

// Redirects are never followed: not to another port, not from https to http, not even
// within the server; the error names the Location, and the other origin sees nothing.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var other atomic.Int32
	var otherAuth atomic.Value
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.Add(1)
		otherAuth.Store(r.Header.Get("Authorization"))
		w.Write([]byte(`{"id":"req_pi_x","data":{"run_id":"r","job_id":"j","status":"completed","id":"r"}}`))
	}))
	defer elsewhere.Close()
	redirect := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, code)
		}
	}
	tls := httptest.NewTLSServer(redirect(http.StatusMovedPermanently))
	defer tls.Close()
	for _, tt := range []struct {
		name string
		srv  *httptest.Server
		hc   *http.Client
	}{
		{"301 to another port", httptest.NewServer(redirect(http.StatusMovedPermanently)), nil},
		{"307 to another port", httptest.NewServer(redirect(http.StatusTemporaryRedirect)), nil},
		{"308 to another port", httptest.NewServer(redirect(http.StatusPermanentRedirect)), nil},
		{"https to http", tls, tls.Client()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.srv.Close()
			c, _ := client(t, tt.srv.URL, tt.hc)
			for _, call := range []func() error{
				func() error { _, err := c.CreateRun(context.Background(), []byte(`{"steps":[]}`)); return err },
				func() error { _, err := c.GetRun(context.Background(), followUUID, false, 0); return err },
				func() error {
					_, err := c.CreateJob(context.Background(), "campaigns.generate", map[string]any{"prompt": "p"})
					return err
				},
			} {
				err := call()
				var ae *Error
				if !errors.As(err, &ae) || ae.ExitCode() != 4 || !strings.Contains(err.Error(), "redirected to "+elsewhere.URL) {
					t.Fatalf("err = %v, want an API error naming the Location", err)
				}
				if ae.MayExist || ae.Transient() {
					t.Fatalf("a redirect is neither ambiguous nor transient: %+v", ae)
				}
			}
			if n := other.Load(); n != 0 {
				t.Fatalf("the other origin got %d requests (Authorization %q)", n, otherAuth.Load())
			}
		})
	}
}

const followUUID = "0b5d4c1e-1111-4222-8333-444455556666"

// A Retry-After is capped, and never waited for past the caller's deadline.
func TestRetryAfterBoundedByCapAndDeadline(t *testing.T) {
	for _, ra := range []string{"99999", "Fri, 01 Jan 2100 00:00:00 GMT"} {
		var posts atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if posts.Add(1) == 1 {
				w.Header().Set("Retry-After", ra)
				w.WriteHeader(429)
				w.Write([]byte(`{"error":{"type":"rate_limit_error","code":"unkey_rate_limited","message":"slow down","request_id":"req_pi_9"}}`))
				return
			}
			w.WriteHeader(202)
			w.Write([]byte(`{"id":"req_pi_2","data":{"run_id":"` + followUUID + `","status":"pending"}}`))
		}))
		c, sleeps := client(t, srv.URL, nil)
		if _, err := c.CreateRun(context.Background(), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if len(sleeps.Waits()) != 1 || sleeps.Waits()[0] != backoff.MaxRetryAfter {
			t.Fatalf("Retry-After %q: sleeps %v, want one of %v", ra, sleeps.Waits(), backoff.MaxRetryAfter)
		}
		// With a deadline closer than the wait, the 429 is the answer at once.
		posts.Store(0)
		c, sleeps = client(t, srv.URL, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.CreateRun(ctx, []byte(`{}`))
		cancel()
		var ae *Error
		if !errors.As(err, &ae) || ae.HTTPStatus != 429 || len(sleeps.Waits()) != 0 || posts.Load() != 1 {
			t.Fatalf("with a 5s deadline: err %v, sleeps %v, posts %d; want the 429 and no wait", err, sleeps.Waits(), posts.Load())
		}
		srv.Close()
	}
}

// Ctrl-C during a Retry-After wait ends it at once, with the context's error (exit 130 in
// the CLI), not the API error's exit 4.
func TestCancelDuringRetryAfterWait(t *testing.T) {
	got := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "99999")
		w.WriteHeader(429)
		got <- struct{}{}
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, APIKey: testKey}) // the real, context-aware sleep
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.CreateRun(ctx, []byte(`{}`)); done <- err }()
	<-got
	cancel()
	select {
	case err := <-done:
		var ec interface{ ExitCode() int }
		if !errors.Is(err, context.Canceled) || errors.As(err, &ec) {
			t.Fatalf("err = %v (%T); want context.Canceled and no exit code of its own", err, err)
		}
	case <-time.After(10 * time.Second): // a hang guard; the wait would be 60 s
		t.Fatal("the Retry-After wait did not end on cancel")
	}
}

// A server that never answers, or trickles its answer, is bounded by the caller's deadline.
func TestHangAndTrickleBoundedByDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	trickle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.Write([]byte(`{"id":"req_pi_t","data":{"status":"`))
		for {
			w.(http.Flusher).Flush()
			select {
			case <-release:
				return
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
				w.Write([]byte("x"))
			}
		}
	}))
	defer trickle.Close()
	for name, url := range map[string]string{"hang": hang.URL, "trickle": trickle.URL} {
		c, _ := client(t, url, nil)
		for _, wait := range []bool{false, true} {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			done := make(chan error, 1)
			go func() { _, err := c.GetRun(ctx, followUUID, wait, 30*time.Second); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s: err = %v, want the deadline", name, err)
				}
			case <-time.After(10 * time.Second): // a hang guard: unbounded, it would take 45 s+
				t.Fatalf("%s: GET not bounded by the deadline", name)
			}
			cancel()
		}
	}
}

// resetAfterRead reads the whole request, then drops the connection without answering.
func resetAfterRead(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}
}

// Under one Idempotency-Key: a campaign endpoint is retried after a lost answer (the
// server replays); brands/extract never is, and says the job may exist.
func TestJobCreationAfterLostAnswer(t *testing.T) {
	for _, tt := range []struct {
		action    string
		fail      string // "reset" or "502"
		wantPosts int
		wantErr   bool
	}{
		{"campaigns.generate", "reset", 2, false},
		{"campaigns.localize_ad", "502", 2, false},
		{"campaigns.edit", "504", 2, false},
		{"brands.extract", "reset", 1, true},
		{"brands.extract", "502", 1, true},
	} {
		t.Run(tt.action+" "+tt.fail, func(t *testing.T) {
			var mu sync.Mutex
			var keys []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				keys = append(keys, r.Header.Get("Idempotency-Key"))
				n := len(keys)
				mu.Unlock()
				if n == 1 {
					switch tt.fail {
					case "reset":
						resetAfterRead(w)
					case "502":
						w.WriteHeader(502)
					default:
						w.WriteHeader(504)
					}
					return
				}
				w.Header().Set("X-Idempotency-Replayed", "true")
				w.WriteHeader(202)
				w.Write([]byte(`{"id":"req_pi_7","data":{"job_id":"0b5d4c1e-1111-4222-8333-444455556666"}}`))
			}))
			defer srv.Close()
			c, _ := client(t, srv.URL, nil)
			id, err := c.CreateJobWithKey(context.Background(), tt.action, map[string]any{"prompt": "p", "url": "https://x.example"}, "key-1")
			mu.Lock()
			defer mu.Unlock()
			if len(keys) != tt.wantPosts {
				t.Fatalf("posts %d, want %d", len(keys), tt.wantPosts)
			}
			for _, k := range keys {
				if k != "key-1" {
					t.Fatalf("Idempotency-Keys %q, want the caller's key-1 on every try", keys)
				}
			}
			if !tt.wantErr {
				if err != nil || id == "" {
					t.Fatalf("CreateJob = %q, %v", id, err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || !ae.MayExist || !strings.Contains(err.Error(), "the job may have been created") {
				t.Fatalf("err = %v, want the job may exist", err)
			}
		})
	}
}

// A 2xx that is not the documented shape is an API error (exit 4) with the request id;
// on a POST it says the run may exist.
func TestMalformedSuccess(t *testing.T) {
	for _, tt := range []struct{ name, body string }{
		{"not JSON", "<html>gateway says hi</html>"},
		{"no data", `{"id":"req_pi_5","object":"run"}`},
		{"no run id", `{"id":"req_pi_5","data":{"status":"pending"}}`},
		{"data not an object", `{"id":"req_pi_5","data":[1,2]}`},
		{"run id not a UUID", `{"id":"req_pi_5","data":{"run_id":"\u001b[2Jx\n::warning::y","status":"pending"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "req_pi_5")
				w.WriteHeader(200)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, sleeps := client(t, srv.URL, nil)
			_, err := c.CreateRun(context.Background(), []byte(`{}`))
			var ae *Error
			if !errors.As(err, &ae) || ae.ExitCode() != 4 || !ae.MayExist || ae.RequestID != "req_pi_5" ||
				!strings.Contains(err.Error(), "not the documented shape") || !strings.Contains(err.Error(), "the run may have been created") {
				t.Fatalf("POST: err = %v", err)
			}
			if len(sleeps.Waits()) != 0 {
				t.Fatalf("a malformed answer to a POST was retried")
			}
			if strings.Contains(err.Error(), "\x1b") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("raw control characters in %q", err)
			}
			if tt.name != "no run id" && tt.name != "run id not a UUID" {
				_, err = c.GetRun(context.Background(), followUUID, false, 0)
				if !errors.As(err, &ae) || ae.MayExist || ae.RequestID != "req_pi_5" {
					t.Fatalf("GET: err = %v", err)
				}
			}
		})
	}
}

// "The run may have been created" only when the request reached a server: not for a TLS
// failure (nothing sent; a bad certificate is not retried either) nor a refused connection.
func TestMayExistOnlyWhenSent(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the handler must not be reached")
	}))
	defer tlsSrv.Close()
	c, sleeps := client(t, tlsSrv.URL, nil) // the default client does not trust the test CA
	_, err := c.CreateRun(context.Background(), []byte(`{}`))
	var ae *Error
	if !errors.As(err, &ae) || ae.MayExist || strings.Contains(err.Error(), "may have been created") || len(sleeps.Waits()) != 0 {
		t.Fatalf("TLS failure: err = %v, sleeps %v", err, sleeps.Waits())
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c, sleeps = client(t, "http://"+addr, nil)
	_, err = c.CreateRun(context.Background(), []byte(`{}`))
	if !errors.As(err, &ae) || ae.MayExist || len(sleeps.Waits()) != 4 {
		t.Fatalf("refused: err = %v, sleeps %v; want retried and not ambiguous", err, sleeps.Waits())
	}
}

// A server echoing the key never gets it into an error, plain or \u-escaped.
func TestEchoedKeyRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_"+testKey)
		w.WriteHeader(401)
		esc := strings.Replace(testKey, "_", `\u005f`, 1)
		w.Write([]byte(`{"error":{"type":"authentication_error","code":"unkey_not_found","message":"API key ` + testKey + ` not found (` + esc + `)\u001b[2J"}}`))
	}))
	defer srv.Close()
	c, _ := client(t, srv.URL, nil)
	_, err := c.GetRun(context.Background(), followUUID, false, 0)
	if err == nil || strings.Contains(err.Error(), "0123456789abcdef") || !strings.Contains(err.Error(), "[redacted]") || strings.Contains(err.Error(), "\x1b") {
		t.Fatalf("err = %q", err)
	}
}
