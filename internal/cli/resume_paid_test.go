package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// slowCreationServer is a Pi server whose first job creation makes (and charges) the job,
// then holds its answer until the client gives up (Ctrl-C, --timeout): the answer never
// arrives. Later creations are answered at once. As the real server does, the campaign
// endpoints replay a repeated Idempotency-Key (ngandimoun/pi-api,
// src/app/api/v1/campaigns/generate/route.ts) and brands/extract makes a new job for every
// POST, reading no key (src/app/api/v1/brands/extract/route.ts).
type slowCreationServer struct {
	held chan struct{} // receives once the first creation is made and held

	mu    sync.Mutex
	jobs  int               // jobs created (charged)
	keys  []string          // the Idempotency-Key of every creation, in order
	byKey map[string]string // key -> job (campaign endpoints)
}

func newSlowCreationServer() *slowCreationServer {
	return &slowCreationServer{held: make(chan struct{}, 1), byKey: map[string]string{}}
}

func (s *slowCreationServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body) // the server notices the client leaving only once the body is read
	if r.Method == http.MethodGet {
		id := strings.TrimPrefix(r.URL.Path, "/api/v1/jobs/")
		typ, extra := "campaign_ad_generation", `"payload":{"image_url":"https://img.example/`+id+`.png"},"result_url":"https://img.example/`+id+`.png"`
		if strings.HasPrefix(id, "0e") {
			typ, extra = "brand_extraction", `"payload":{},"result_url":"brands/0b5d4c1e-1111-4222-8333-444455556666"`
		}
		fmt.Fprintf(w, `{"id":"req_pi_g","data":{"id":"%s","type":"%s","status":"completed",%s}}`, id, typ, extra)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	extract := r.URL.Path == "/api/v1/brands/extract"
	s.mu.Lock()
	s.keys = append(s.keys, key)
	id, replay := s.byKey[key]
	if !replay || extract {
		s.jobs++
		prefix := map[bool]string{false: "0c", true: "0e"}[extract]
		id = fmt.Sprintf("%s5d4c1e-1111-4222-8333-%012d", prefix, s.jobs)
		if !extract {
			s.byKey[key] = id
		}
	}
	first := len(s.keys) == 1
	s.mu.Unlock()
	if first {
		s.held <- struct{}{}
		<-r.Context().Done() // made, and never answered
		return
	}
	w.WriteHeader(202)
	fmt.Fprintf(w, `{"id":"req_pi_c","data":{"job_id":"%s"}}`, id)
}

func (s *slowCreationServer) counts() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobs, append([]string(nil), s.keys...)
}

// interruptCreation starts a --local run of pipeline against srv and stops it while its
// first job creation waits for the answer: by Ctrl-C (the command's context) or by
// --timeout. It returns the run's id.
func interruptCreation(t *testing.T, srv *slowCreationServer, f *Factory, file, how string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args, want := []string{"run", file, "--local", "-o", "plain"}, ExitInterrupted
	if how == "timeout" {
		args, want = append(args, "--timeout", "2s"), ExitTimeout
	}
	done := make(chan int, 1)
	go func() { done <- Execute(ctx, f, args) }()
	select {
	case <-srv.held:
	case code := <-done:
		t.Fatalf("pi ended (exit %d) before its job creation was sent", code)
	}
	if how == "cancel" {
		cancel()
	}
	select {
	case code := <-done:
		if code != want {
			t.Fatalf("interrupted run: exit %d, want %d", code, want)
		}
	case <-time.After(60 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("pi did not end")
	}
	return storedRun(t, f.Getenv("XDG_STATE_HOME"), "").ID
}

// A --local run cut off (Ctrl-C, --timeout) while a job creation waits for its answer
// records the creation's Idempotency-Key before it is sent, and shows that a job may exist;
// --resume sends the same key, so the server hands back the job it made: one job, paid
// once (issue 21, item 1). The step cache is out of the way (cache: false, --cache=read):
// the run record alone carries the key.
func TestResumeSendsTheSameIdempotencyKey(t *testing.T) {
	for _, how := range []string{"cancel", "timeout"} {
		for _, variant := range []struct{ name, cache, flag string }{
			{"cache false", "\n    cache: false", ""},
			{"cache read", "", "--cache=read"},
		} {
			t.Run(how+"/"+variant.name, func(t *testing.T) {
				srv := newSlowCreationServer()
				hs := httptest.NewServer(srv)
				defer hs.Close()
				f, out, errOut := remoteFactory(t, hs.URL, "pi_test_0123456789")
				file := writePipeline(t, t.TempDir(), "steps:\n  - id: ad\n    action: campaigns.generate\n    input: { prompt: an ad }"+variant.cache+"\n")
				id := interruptCreation(t, srv, f, file, how)
				st := storedRun(t, f.Getenv("XDG_STATE_HOME"), id).Step("ad")
				if _, keys := srv.counts(); st.JobID != "" || !st.MayHaveJob() || st.CreationKey != keys[0] {
					t.Fatalf("after the interruption: step %+v, want no job id and the key sent (%q) recorded", st, keys)
				}
				out.Reset()
				code := Execute(context.Background(), f, []string{"runs", "get", id})
				if code != ExitCancelled || !strings.Contains(out.String(), "a job may exist (Idempotency-Key "+st.CreationKey+")") {
					t.Fatalf("pi runs get: exit %d, does not say a job may exist:\n%s%s", code, out, errOut)
				}
				args := []string{"run", "--resume", id, "-o", "plain"}
				if variant.flag != "" {
					args = append(args, variant.flag)
				}
				if code := runWithin(t, 60*time.Second, f, args...); code != 0 {
					t.Fatalf("resume: exit %d:\n%s", code, errOut)
				}
				jobs, keys := srv.counts()
				if jobs != 1 || len(keys) != 2 || keys[0] != keys[1] {
					t.Fatalf("%d jobs created (want 1), Idempotency-Keys %q (want the same twice)", jobs, keys)
				}
				if got := storedRun(t, f.Getenv("XDG_STATE_HOME"), id).Step("ad"); got.Status != run.StepCompleted || got.MayHaveJob() {
					t.Fatalf("resumed step %+v", got)
				}
			})
		}
	}
}

// brands/extract makes a job for every POST: a resume does not send its unanswered
// creation again unless told to. Without a terminal it is refused (exit 2, nothing sent),
// naming --repay; --repay STEP, or y at the prompt, pays for a new job; n refuses.
func TestResumeOfAnUnansweredExtraction(t *testing.T) {
	srv := newSlowCreationServer()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	f, _, errOut := remoteFactory(t, hs.URL, "pi_test_0123456789")
	file := writePipeline(t, t.TempDir(), "steps:\n  - id: brand\n    action: brands.extract\n    input: { url: https://shop.example.com }\n")
	id := interruptCreation(t, srv, f, file, "cancel")

	code := runWithin(t, 60*time.Second, f, "run", "--resume", id)
	if jobs, keys := srv.counts(); code != ExitUsage || len(keys) != 1 || jobs != 1 ||
		!strings.Contains(errOut.String(), "a job may exist") || !strings.Contains(errOut.String(), "--repay brand") {
		t.Fatalf("resume without a terminal: exit %d (want 2), %d POSTs (want 1):\n%s", code, len(keys), errOut)
	}
	// A person at a terminal says no: refused the same way.
	f.IO.SetTTY(true)
	f.IO.SetStdinTTY(true)
	f.IO.In = strings.NewReader("n\n")
	errOut.Reset()
	if code := runWithin(t, 60*time.Second, f, "run", "--resume", id, "-o", "plain"); code != ExitUsage || !strings.Contains(errOut.String(), "create (and pay for) another? [y/N]") {
		t.Fatalf("answered n: exit %d (want 2):\n%s", code, errOut)
	}
	if jobs, _ := srv.counts(); jobs != 1 {
		t.Fatalf("%d jobs after a refusal, want 1", jobs)
	}
	// Then yes: a new job, as asked.
	f.IO.In = strings.NewReader("y\n")
	if code := runWithin(t, 60*time.Second, f, "run", "--resume", id, "-o", "plain"); code != 0 {
		t.Fatalf("answered y: exit %d:\n%s", code, errOut)
	}
	if jobs, keys := srv.counts(); jobs != 2 || len(keys) != 2 {
		t.Fatalf("%d jobs, %d POSTs after y, want 2 and 2", jobs, len(keys))
	}
}

// --repay STEP accepts paying again without a terminal; it goes with --resume only, and
// names a step of the run.
func TestRepayFlag(t *testing.T) {
	srv := newSlowCreationServer()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	f, _, errOut := remoteFactory(t, hs.URL, "pi_test_0123456789")
	file := writePipeline(t, t.TempDir(), "steps:\n  - id: brand\n    action: brands.extract\n    input: { url: https://shop.example.com }\n")
	if code := runWithin(t, 60*time.Second, f, "run", file, "--local", "--repay", "brand"); code != ExitUsage || !strings.Contains(errOut.String(), "--repay pays again for a job an interrupted run may have made: it goes with --resume ID") {
		t.Fatalf("--repay without --resume: exit %d:\n%s", code, errOut)
	}
	id := interruptCreation(t, srv, f, file, "cancel")
	errOut.Reset()
	if code := runWithin(t, 60*time.Second, f, "run", "--resume", id, "--repay", "brnad"); code != ExitUsage || !strings.Contains(errOut.String(), "--repay brnad: run "+id+" has no such step") {
		t.Fatalf("--repay of no step: exit %d:\n%s", code, errOut)
	}
	if code := runWithin(t, 60*time.Second, f, "run", "--resume", id, "--repay", "brand", "-o", "plain"); code != 0 {
		t.Fatalf("--repay brand: exit %d:\n%s", code, errOut)
	}
	if jobs, keys := srv.counts(); jobs != 2 || len(keys) != 2 {
		t.Fatalf("%d jobs, %d POSTs, want 2 and 2", jobs, len(keys))
	}
}

// kill -9 of pi while its job creation waits for the answer: the key was saved before the
// creation was sent, so the resume sends it again and the job is made once.
func TestResumeAfterKillDuringCreation(t *testing.T) {
	bin := piBinary(t)
	srv := newSlowCreationServer()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	f, _, errOut := remoteFactory(t, hs.URL, "pi_test_0123456789")
	file := writePipeline(t, t.TempDir(), "steps:\n  - id: ad\n    action: campaigns.generate\n    input: { prompt: an ad }\n    cache: false\n")
	cmd := exec.Command(bin, "run", file, "--local", "-o", "plain")
	for _, k := range []string{"HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "PI_BASE_URL", "PI_API_KEY"} {
		cmd.Env = append(cmd.Env, k+"="+f.Getenv(k))
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-srv.held:
	case err := <-exited:
		t.Fatalf("pi ended (%v) before its job creation was sent", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	r := storedRun(t, f.Getenv("XDG_STATE_HOME"), "")
	if st := r.Step("ad"); r.Status != run.InProgress || !st.MayHaveJob() {
		t.Fatalf("after kill -9: run %s, step %+v; want in_progress with the creation's key", r.Status, st)
	}
	if code := runWithin(t, 60*time.Second, f, "run", "--resume", r.ID, "-o", "plain"); code != 0 {
		t.Fatalf("resume: exit %d:\n%s", code, errOut)
	}
	if jobs, keys := srv.counts(); jobs != 1 || len(keys) != 2 || keys[0] != keys[1] {
		t.Fatalf("%d jobs created (want 1), Idempotency-Keys %q (want the same twice)", jobs, keys)
	}
}
