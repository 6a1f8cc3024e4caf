package piapi

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/clock"
)

func newTestClient(t *testing.T, h http.HandlerFunc) (*Client, *clock.Fake, *bytes.Buffer) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	var dbg bytes.Buffer
	sleeps := clock.NewAuto(time.Now())
	c, err := New(Config{BaseURL: srv.URL + "/", APIKey: "sk_secret", Debug: &dbg, Clock: sleeps})
	if err != nil {
		t.Fatal(err)
	}
	return c, sleeps, &dbg
}

const runJSON = `{"id":"req_pi_1","object":"run","data":{"run_id":"0b5d4c1e-1111-4222-8333-444455556666","status":"completed","steps":[]}}`

func TestCreateRunRetries(t *testing.T) {
	tests := []struct {
		name      string
		answers   []int // status per try; 0 = drop the connection after reading the request
		code      string
		wantPosts int
		wantErr   bool
		mayExist  bool
	}{
		{name: "503 then ok", answers: []int{503, 202}, wantPosts: 2},
		{name: "429 then ok", answers: []int{429, 202}, wantPosts: 2},
		{name: "500 run_create_failed then ok", answers: []int{500, 202}, code: "run_create_failed", wantPosts: 2},
		{name: "502 is ambiguous", answers: []int{502, 202}, wantPosts: 1, wantErr: true, mayExist: true},
		{name: "reset after send is ambiguous", answers: []int{0, 202}, wantPosts: 1, wantErr: true, mayExist: true},
		{name: "400 is permanent", answers: []int{400}, code: "invalid_run_dag", wantPosts: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var keys []string
			c, sleeps, dbg := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n := len(keys)
				keys = append(keys, r.Header.Get("Idempotency-Key"))
				mu.Unlock()
				st := tt.answers[n]
				switch {
				case st == 0:
					hj, _ := w.(http.Hijacker)
					conn, _, _ := hj.Hijack()
					conn.Close()
				case st >= 300:
					if st == 429 {
						w.Header().Set("Retry-After", "7")
					}
					w.WriteHeader(st)
					w.Write([]byte(`{"error":{"type":"api_error","code":"` + tt.code + `","message":"m","request_id":"req_pi_e"}}`))
				default:
					w.WriteHeader(st)
					w.Write([]byte(runJSON))
				}
			})
			cr, err := c.CreateRun(context.Background(), []byte(`{"steps":[]}`))
			mu.Lock()
			defer mu.Unlock()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if len(keys) != tt.wantPosts {
				t.Fatalf("posts = %d, want %d", len(keys), tt.wantPosts)
			}
			for _, k := range keys {
				if k == "" || k != keys[0] {
					t.Fatalf("idempotency keys differ or missing: %q", keys)
				}
			}
			if err != nil {
				e, ok := err.(*Error)
				if !ok || e.ExitCode() != 4 || e.MayExist != tt.mayExist {
					t.Fatalf("err = %#v, want *Error exit 4 mayExist %v", err, tt.mayExist)
				}
			} else if cr.RunID == "" {
				t.Fatal("no run id")
			}
			if tt.answers[0] == 429 && (len(sleeps.Waits()) != 1 || sleeps.Waits()[0] != 7*time.Second) {
				t.Fatalf("sleeps = %v, want [7s] from Retry-After", sleeps.Waits())
			}
			if strings.Contains(dbg.String(), "sk_secret") || !strings.Contains(dbg.String(), "POST") {
				t.Fatalf("debug output leaks key or misses requests:\n%s", dbg)
			}
		})
	}
}

func TestGetRunRetriesTransient(t *testing.T) {
	var n int
	c, sleeps, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		if r.URL.Query().Get("timeout_seconds") != "30" || r.Header.Get("Authorization") != "Bearer sk_secret" {
			t.Errorf("query %q auth %q", r.URL.RawQuery, r.Header.Get("Authorization"))
		}
		if n < 3 {
			w.WriteHeader(504)
			return
		}
		w.Write([]byte(runJSON))
	})
	r, err := c.GetRun(context.Background(), "0b5d4c1e-1111-4222-8333-444455556666", true, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(sleeps.Waits()) != 2 || string(r.Status) != "completed" {
		t.Fatalf("gets %d sleeps %v status %q", n, sleeps.Waits(), r.Status)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "pi", "config.yaml")
	os.MkdirAll(filepath.Dir(cfgPath), 0o700)
	os.WriteFile(cfgPath, []byte("base_url: https://file.example/\napi_key: filekey\n"), 0o644)
	tests := []struct {
		name, flag      string
		env             map[string]string
		wantURL, wanKey string
	}{
		{name: "file", env: map[string]string{"XDG_CONFIG_HOME": dir}, wantURL: "https://file.example", wanKey: "filekey"},
		{name: "env over file", env: map[string]string{"XDG_CONFIG_HOME": dir, "PI_BASE_URL": "https://env.example", "PI_API_KEY": "envkey"}, wantURL: "https://env.example", wanKey: "envkey"},
		{name: "flag over env", flag: "https://flag.example/", env: map[string]string{"XDG_CONFIG_HOME": dir, "PI_BASE_URL": "https://env.example"}, wantURL: "https://flag.example", wanKey: "filekey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, warns, err := LoadConfig(tt.flag, "", func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if cfg.BaseURL != tt.wantURL || cfg.APIKey != tt.wanKey {
				t.Fatalf("got %q %q", cfg.BaseURL, cfg.APIKey)
			}
			if len(warns) != 1 || !strings.Contains(warns[0], "chmod 600") {
				t.Fatalf("warnings = %q, want the permission warning", warns)
			}
		})
	}
	if _, err := New(Config{BaseURL: "http://api.example"}); err == nil || !strings.Contains(err.Error(), "--insecure-http") {
		t.Fatalf("plain http to remote host: err = %v", err)
	}
}

func TestJobs(t *testing.T) {
	c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/brands/extract":
			w.WriteHeader(202)
			w.Write([]byte(`{"id":"req_pi_2","data":{"job_id":"j1"}}`))
		case r.URL.Path == "/api/v1/jobs/j1" && r.URL.Query().Get("expand") == "brand":
			w.Write([]byte(`{"id":"req_pi_3","data":{"id":"j1","type":"brand_extraction","status":"completed","payload":{"brand_id":"b"},"result_url":"brands/b","error_log":null,"created_at":1760000000,"updated_at":1760000005}}`))
		default:
			w.WriteHeader(404)
		}
	})
	id, err := c.CreateJob(context.Background(), "brands.extract", map[string]any{"url": "https://x.example"})
	if err != nil || id != "j1" {
		t.Fatalf("CreateJob = %q, %v", id, err)
	}
	j, err := c.GetJob(context.Background(), id, true, 10*time.Second, "brand")
	if err != nil || !j.Status.Terminal() || j.ResultURL != "brands/b" || j.UpdatedAt.Unix() != 1760000005 {
		t.Fatalf("GetJob = %+v, %v", j, err)
	}
	if _, err := c.CreateJob(context.Background(), "shell.run", nil); err == nil {
		t.Fatal("CreateJob of a local action: want an error")
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.8.9.1": true, "::1": true,
		"0.0.0.0": false, "10.0.0.1": false, "example.com": false, "localhost.example.com": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
