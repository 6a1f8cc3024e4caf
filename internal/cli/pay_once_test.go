package cli

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// replayServer is a Pi server for --local runs that creates each job, then loses the
// answer (the connection is reset after the request was read) on the first try of every
// creation; with Idempotency-Key it replays on the campaign endpoints, as the real server
// does, and ignores the key on brands/extract.
type replayServer struct {
	mu     sync.Mutex
	jobs   int               // jobs created (charged)
	byKey  map[string]string // Idempotency-Key -> job id (campaign endpoints)
	posts  int
	failed map[string]bool // creations whose first answer was already lost
}

func (s *replayServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodGet { // GET /api/v1/jobs/:id: done at once
		id := strings.TrimPrefix(r.URL.Path, "/api/v1/jobs/")
		typ, extra := "campaign_ad_generation", `"payload":{"image_url":"https://img.example/`+id+`.png"},"result_url":"https://img.example/`+id+`.png"`
		if strings.HasPrefix(id, "0e") {
			typ, extra = "brand_extraction", `"payload":{},"result_url":"brands/0b5d4c1e-1111-4222-8333-444455556666"`
		}
		fmt.Fprintf(w, `{"id":"req_pi_g","data":{"id":"%s","type":"%s","status":"completed",%s}}`, id, typ, extra)
		return
	}
	s.posts++
	key := r.Header.Get("Idempotency-Key")
	extract := r.URL.Path == "/api/v1/brands/extract"
	id, replay := s.byKey[key]
	if !replay || extract {
		s.jobs++
		prefix := "0c"
		if extract {
			prefix = "0e"
		}
		id = fmt.Sprintf("%s5d4c1e-1111-4222-8333-%012d", prefix, s.jobs)
		if !extract {
			s.byKey[key] = id
		}
	}
	if !s.failed[key] {
		s.failed[key] = true
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
		return
	}
	if replay {
		w.Header().Set("X-Idempotency-Replayed", "true")
	}
	w.WriteHeader(202)
	fmt.Fprintf(w, `{"id":"req_pi_c","data":{"job_id":"%s"}}`, id)
}

// Under --local, a campaign job whose answer was lost is created once (every attempt
// carries the same Idempotency-Key and the server replays); a brand extraction whose answer
// was lost is not tried again: the step fails saying the job may exist.
func TestLocalJobCreationNeverPaysTwice(t *testing.T) {
	for _, tt := range []struct {
		name, pipeline string
		wantCode       int
		wantPosts      int
		want           string
	}{
		{"campaigns.generate", "steps:\n  - id: ad\n    action: campaigns.generate\n    input: { prompt: an ad }\n",
			0, 2, ""},
		{"brands.extract", "steps:\n  - id: brand\n    action: brands.extract\n    input: { url: https://shop.example.com }\n",
			ExitRunFailed, 1, "the job may have been created"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := &replayServer{byKey: map[string]string{}, failed: map[string]bool{}}
			hs := httptest.NewServer(srv)
			defer hs.Close()
			dir := t.TempDir()
			file := writePipeline(t, dir, tt.pipeline)
			f, out, errOut := remoteFactory(t, hs.URL, "pi_test_0123456789")
			env := f.Getenv
			f.Getenv = func(k string) string {
				if k == "XDG_STATE_HOME" {
					return dir
				}
				return env(k)
			}
			code := runWithin(t, 60*time.Second, f, "run", file, "--local", "-o", "plain")
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if code != tt.wantCode || srv.jobs != 1 || srv.posts != tt.wantPosts || !strings.Contains(out.String()+errOut.String(), tt.want) {
				t.Fatalf("exit %d (want %d), %d jobs created (want 1), %d POSTs (want %d):\n%s%s", code, tt.wantCode, srv.jobs, srv.posts, tt.wantPosts, out, errOut)
			}
		})
	}
}
