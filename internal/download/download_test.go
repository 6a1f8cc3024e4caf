package download

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/run"
)

// pngBytes is the start of a PNG file and some bytes: enough for content sniffing.
func pngBytes(tag string) []byte {
	return append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), tag...)
}

// imageHost serves path -> body (with its content type); it records every request's
// Authorization header and counts requests per path.
type imageHost struct {
	*httptest.Server
	mu      sync.Mutex
	files   map[string][]byte
	types   map[string]string
	status  map[string][]int // statuses to answer first, one per request
	auth    []string
	cookies []string
	hits    map[string]int
}

func newImageHost(t *testing.T) *imageHost {
	h := &imageHost{files: map[string][]byte{}, types: map[string]string{}, status: map[string][]int{}, hits: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.auth = append(h.auth, r.Header.Get("Authorization"))
		h.cookies = append(h.cookies, r.Header.Get("Cookie"))
		h.hits[r.URL.Path]++
		var st int
		if q := h.status[r.URL.Path]; len(q) > 0 {
			st, h.status[r.URL.Path] = q[0], q[1:]
		}
		body, ok := h.files[r.URL.Path]
		ct := h.types[r.URL.Path]
		h.mu.Unlock()
		if st != 0 {
			if st == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "3600")
			}
			w.WriteHeader(st)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Write(body)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *imageHost) put(path string, body []byte, ct string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.files[path], h.types[path] = body, ct
	return h.URL + path
}

func (h *imageHost) failNext(path string, statuses ...int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status[path] = append(h.status[path], statuses...)
}

func testRun(steps ...run.Step) *run.Run {
	return &run.Run{ID: "9f175af9-589b-44e8-86b9-1a434702245a", Status: run.Completed, Steps: steps}
}

func adStep(id, url string) run.Step {
	return run.Step{ID: id, Action: "campaigns.generate", Status: run.StepCompleted, JobID: "job-" + id,
		Result: map[string]any{"job_id": "job-" + id, "image_url": url, "result_url": url}}
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func readManifestFile(t *testing.T, dir string) Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// noPartFiles fails when a temporary file was left in dir.
func noPartFiles(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".part") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestDownloadManifestAndIdempotency(t *testing.T) {
	h := newImageHost(t)
	hero := pngBytes("hero")
	heroURL := h.put("/campaigns/org/hero.png", hero, "image/png")
	frURL := h.put("/campaigns/org/fr", []byte("\xff\xd8\xff\xe0 jpeg fr"), "image/jpeg")
	sniffURL := h.put("/campaigns/org/sniffed", pngBytes("sniff"), "application/octet-stream")
	r := testRun(
		run.Step{ID: "brand", Action: "brands.extract", Status: run.StepCompleted, Result: map[string]any{"brand_id": "b"}},
		adStep("hero", heroURL),
		adStep("fr", frURL),
		adStep("sniffed", sniffURL),
		run.Step{ID: "bad", Action: "campaigns.generate", Status: run.StepFailed, Error: "boom"},
	)
	dir := filepath.Join(t.TempDir(), "out")
	var progress bytes.Buffer
	res, err := Run(context.Background(), r, Options{AllowInternal: true, Dir: dir, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Items {
		if it.Outcome != New {
			t.Errorf("%s: %s, want new", it.Step, it.Outcome)
		}
	}
	m := readManifestFile(t, dir)
	if m.RunID != r.ID || m.Status != "completed" || len(m.Files) != 3 || len(m.Failed) != 0 {
		t.Fatalf("manifest %+v", m)
	}
	want := []File{
		{Step: "hero", Action: "campaigns.generate", JobID: "job-hero", URL: heroURL, File: "hero.png", Bytes: int64(len(hero)), SHA256: sha(hero), ContentType: "image/png"},
		{Step: "fr", Action: "campaigns.generate", JobID: "job-fr", URL: frURL, File: "fr.jpg"},
		{Step: "sniffed", Action: "campaigns.generate", JobID: "job-sniffed", URL: sniffURL, File: "sniffed.png"},
	}
	if m.Files[0] != want[0] {
		t.Errorf("manifest file %+v\nwant %+v", m.Files[0], want[0])
	}
	for i, f := range m.Files {
		if f.Step != want[i].Step || f.File != want[i].File || f.URL != want[i].URL || f.JobID != want[i].JobID {
			t.Errorf("file %d: %+v, want %+v", i, f, want[i])
		}
		b, err := os.ReadFile(filepath.Join(dir, f.File))
		if err != nil || sha(b) != f.SHA256 || int64(len(b)) != f.Bytes {
			t.Errorf("%s on disk does not match its manifest entry (%v)", f.File, err)
		}
		if st, _ := os.Stat(filepath.Join(dir, f.File)); st.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v", f.File, st.Mode())
		}
	}
	if !strings.Contains(progress.String(), "new       hero.png") {
		t.Errorf("progress:\n%s", progress.String())
	}
	if s := res.Summary(); s != "3 images in "+dir+" (3 new); manifest.json lists them" {
		t.Errorf("summary %q", s)
	}

	// Again: the same bytes are kept.
	before, _ := os.Stat(filepath.Join(dir, "hero.png"))
	res, err = Run(context.Background(), r, Options{AllowInternal: true, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Items {
		if it.Outcome != Unchanged {
			t.Errorf("second run: %s %s, want unchanged", it.Step, it.Outcome)
		}
	}
	after, _ := os.Stat(filepath.Join(dir, "hero.png"))
	if !os.SameFile(before, after) {
		t.Error("an unchanged file was rewritten")
	}

	// Different bytes at the URL: the file is replaced (a new inode: renamed into place).
	hero2 := pngBytes("hero, second version")
	h.put("/campaigns/org/hero.png", hero2, "image/png")
	res, err = Run(context.Background(), r, Options{AllowInternal: true, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Items[0].Outcome != Replaced || res.Items[1].Outcome != Unchanged {
		t.Errorf("outcomes %s %s, want replaced, unchanged", res.Items[0].Outcome, res.Items[1].Outcome)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "hero.png")); !bytes.Equal(b, hero2) {
		t.Error("hero.png was not replaced")
	}
	if m := readManifestFile(t, dir); m.Files[0].SHA256 != sha(hero2) {
		t.Errorf("manifest sha %s after the replacement", m.Files[0].SHA256)
	}
	noPartFiles(t, dir)
}

func TestDownloadFailureKeepsTheRest(t *testing.T) {
	h := newImageHost(t)
	a := h.put("/a.png", pngBytes("a"), "image/png")
	b := h.put("/b.png", pngBytes("b"), "image/png")
	r := testRun(adStep("a", a), adStep("b", b), adStep("c", h.URL+"/missing.png"), adStep("d", "ftp://x/y.png"))
	dir := t.TempDir()
	sl := clock.NewAuto(time.Now())
	res, err := Run(context.Background(), r, Options{AllowInternal: true, Dir: dir, Clock: sl})
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Failed != 2 || fe.Total != 4 {
		t.Fatalf("err %v, want 2 of 4 failed", err)
	}
	if !strings.Contains(err.Error(), "404 Not Found") {
		t.Errorf("error %q does not say why", err)
	}
	if len(sl.Waits()) != 0 {
		t.Errorf("a 404 was retried (%v)", sl.Waits())
	}
	m := readManifestFile(t, dir)
	if len(m.Files) != 2 || len(m.Failed) != 2 || m.Failed[0].Step != "c" || !strings.Contains(m.Failed[1].Error, "not an http(s) URL") {
		t.Errorf("manifest %+v", m)
	}
	if res.Failed() != 2 {
		t.Errorf("Failed() = %d", res.Failed())
	}

	// A later failure of a step downloaded before keeps its file and manifest entry.
	h.failNext("/a.png", http.StatusForbidden)
	if _, err := Run(context.Background(), r, Options{AllowInternal: true, Dir: dir, Clock: sl}); err == nil {
		t.Fatal("no error")
	}
	m = readManifestFile(t, dir)
	if len(m.Files) != 2 || m.Files[0].Step != "a" {
		t.Errorf("manifest after a failed re-download: %+v", m.Files)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.png")); err != nil {
		t.Error(err)
	}
	noPartFiles(t, dir)
}

func TestDownloadRetriesTransientErrors(t *testing.T) {
	h := newImageHost(t)
	u := h.put("/a.png", pngBytes("a"), "image/png")
	h.failNext("/a.png", http.StatusServiceUnavailable, http.StatusTooManyRequests)
	sl := clock.NewAuto(time.Now())
	res, err := Run(context.Background(), testRun(adStep("a", u)), Options{AllowInternal: true, Dir: t.TempDir(), Clock: sl})
	if err != nil {
		t.Fatal(err)
	}
	if res.Items[0].Outcome != New || h.hits["/a.png"] != 3 {
		t.Errorf("outcome %s after %d requests", res.Items[0].Outcome, h.hits["/a.png"])
	}
	// The 429 asked for an hour: the wait is capped.
	if len(sl.Waits()) != 2 || sl.Waits()[1] != backoff.DownloadRetryAfter {
		t.Errorf("waits %v, want two, the second %s", sl.Waits(), backoff.DownloadRetryAfter)
	}

	// Out of attempts: the last error is reported.
	h.failNext("/a.png", 502, 502, 502)
	_, err = Run(context.Background(), testRun(adStep("a", u)), Options{AllowInternal: true, Dir: t.TempDir(), Clock: sl})
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("err %v, want the 502", err)
	}
}

func TestDownloadNeverSendsCredentials(t *testing.T) {
	target := newImageHost(t)
	final := target.put("/img.png", pngBytes("x"), "image/png")
	// The API host itself redirects its image URL to the image host, and also within itself.
	var apiAuth []string
	var mu sync.Mutex
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		apiAuth = append(apiAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		switch r.URL.Path {
		case "/files/a.png":
			http.Redirect(w, r, "/files/b.png", http.StatusFound)
		case "/files/b.png":
			http.Redirect(w, r, final, http.StatusMovedPermanently)
		case "/files/loop.png":
			http.Redirect(w, r, "/files/loop.png", http.StatusFound)
		case "/files/file.png":
			w.Header().Set("Location", "file:///etc/passwd")
			w.WriteHeader(http.StatusFound)
		}
	}))
	t.Cleanup(api.Close)
	dir := t.TempDir()
	r := testRun(adStep("a", api.URL+"/files/a.png"))
	if _, err := Run(context.Background(), r, Options{AllowInternal: true, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.png")); !bytes.Equal(b, pngBytes("x")) {
		t.Error("the redirect was not followed to the image")
	}
	for _, a := range append(apiAuth, target.auth...) {
		if a != "" {
			t.Errorf("Authorization %q was sent", a)
		}
	}

	// Even a request that carries credentials loses them at the first redirect.
	req, _ := http.NewRequest("GET", api.URL+"/files/a.png", nil)
	req.Header.Set("Authorization", "Bearer pi_live_secret")
	req.Header.Set("Cookie", "session=1")
	resp, err := newClient(true, nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	if got := apiAuth[len(apiAuth)-1]; got != "" {
		t.Errorf("same-host redirect kept Authorization %q", got)
	}
	mu.Unlock()
	if got := target.auth[len(target.auth)-1]; got != "" || target.cookies[len(target.cookies)-1] != "" {
		t.Errorf("cross-host redirect sent Authorization %q", got)
	}

	// Redirect loops and non-http schemes end in an error.
	r = testRun(adStep("loop", api.URL+"/files/loop.png"), adStep("file", api.URL+"/files/file.png"))
	_, err = Run(context.Background(), r, Options{AllowInternal: true, Dir: t.TempDir(), Clock: clock.NewAuto(time.Now())})
	var fe *FailedError
	if !errors.As(err, &fe) || fe.Failed != 2 {
		t.Errorf("err %v, want both failed", err)
	}
}

func TestDownloadSelectsSteps(t *testing.T) {
	h := newImageHost(t)
	r := testRun(adStep("hero", h.put("/h.png", pngBytes("h"), "image/png")),
		adStep("loc_fr", h.put("/f.png", pngBytes("f"), "image/png")),
		adStep("loc_de", h.put("/d.png", pngBytes("d"), "image/png")))
	dir := t.TempDir()
	if _, err := Run(context.Background(), r, Options{AllowInternal: true, Dir: dir, Steps: []string{"hero"}}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), r, Options{AllowInternal: true, Dir: dir, Steps: []string{"loc_*"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 2 || h.hits["/h.png"] != 1 {
		t.Errorf("loc_* downloaded %d items, hero %d times", len(res.Items), h.hits["/h.png"])
	}
	// The manifest describes the directory: hero from before, and the two new ones.
	if m := readManifestFile(t, dir); len(m.Files) != 3 || m.Files[0].Step != "hero" || m.Files[2].Step != "loc_de" {
		t.Errorf("manifest files %+v", m.Files)
	}

	_, err = Run(context.Background(), r, Options{AllowInternal: true, Dir: dir, Steps: []string{"nope*"}})
	var nm *NoMatchError
	if !errors.As(err, &nm) || !strings.Contains(err.Error(), "hero, loc_fr, loc_de") {
		t.Errorf("err %v, want no match naming the steps", err)
	}
	_, err = Run(context.Background(), r, Options{AllowInternal: true, Dir: dir, Steps: []string{"[x"}})
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Errorf("bad glob: %v", err)
	}

	// A directory holding another run's download is refused.
	other := *r
	other.ID = "00000000-0000-4000-8000-000000000000"
	if _, err := Run(context.Background(), &other, Options{AllowInternal: true, Dir: dir}); !errors.As(err, &ue) || !strings.Contains(err.Error(), r.ID) {
		t.Errorf("another run's directory: %v", err)
	}
}

func TestDownloadSafeFileNames(t *testing.T) {
	h := newImageHost(t)
	u := h.put("/x.png", pngBytes("x"), "image/png")
	r := testRun(adStep("../../escape", u), adStep(".hidden", u), adStep("Hero", u), adStep("hero", u), adStep("manifest.json", u))
	dir := filepath.Join(t.TempDir(), "d")
	res, err := Run(context.Background(), r, Options{AllowInternal: true, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, it := range res.Items {
		name := strings.ToLower(it.File.File)
		if strings.ContainsAny(it.File.File, `/\`) || strings.HasPrefix(it.File.File, ".") || seen[name] || name == ManifestName {
			t.Errorf("step %q got file name %q", it.Step, it.File.File)
		}
		seen[name] = true
		if _, err := os.Stat(filepath.Join(dir, it.File.File)); err != nil {
			t.Error(err)
		}
	}
	if res.Items[2].File.File != "Hero.png" {
		t.Errorf("a plain id was renamed: %q", res.Items[2].File.File)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("files outside the directory: %v", ents)
	}
}

func TestDownloadConcurrencyLimit(t *testing.T) {
	const limit, total = 2, 6
	var inflight, peak atomic.Int32
	arrived := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		arrived <- struct{}{}
		<-release
		inflight.Add(-1)
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes(r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	var steps []run.Step
	for i := 0; i < total; i++ {
		steps = append(steps, adStep(string(rune('a'+i)), srv.URL+"/"+string(rune('a'+i))))
	}
	done := make(chan error)
	go func() {
		_, err := Run(context.Background(), testRun(steps...), Options{AllowInternal: true, Dir: t.TempDir(), Concurrency: limit})
		done <- err
	}()
	// Release a request only when the limit is reached (or all the rest arrived), so the
	// downloads are held at the limit and any one beyond it would show in peak.
	waiting, released := 0, 0
	for released < total {
		<-arrived
		waiting++
		for waiting == limit || waiting+released == total {
			release <- struct{}{}
			waiting--
			released++
			if waiting == 0 {
				break
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != limit {
		t.Errorf("peak of %d downloads at once, want %d", p, limit)
	}
}

func TestLiveProgress(t *testing.T) {
	h := newImageHost(t)
	var buf bytes.Buffer
	r := testRun(adStep("a", h.put("/a.png", pngBytes("a"), "image/png")), adStep("b", h.URL+"/none"))
	_, err := Run(context.Background(), r, Options{AllowInternal: true, Dir: t.TempDir(), Progress: &buf, Live: true})
	if err == nil {
		t.Fatal("no error")
	}
	out := buf.String()
	if !strings.Contains(out, "\r\x1b[Kdownloading 0/2 images") || !strings.Contains(out, "failed    b: GET") || !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("live progress %q", out)
	}
}

func TestNothingToDownload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	res, err := Run(context.Background(), testRun(run.Step{ID: "brand", Status: run.StepCompleted}), Options{AllowInternal: true, Dir: dir})
	if err != nil || len(res.Items) != 0 {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("an empty download created its directory")
	}
	if !strings.Contains(res.Summary(), "no completed step has an image") {
		t.Error(res.Summary())
	}
}

// FuzzFileBases: whatever the step ids, their file names stay inside the directory and
// are distinct, even where the file system folds case.
func FuzzFileBases(f *testing.F) {
	f.Add("hero", "Hero", "../x")
	f.Add(".", "..", "manifest.json")
	f.Add("a/b", `a\b`, "a_b")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		r := testRun(run.Step{ID: a}, run.Step{ID: b}, run.Step{ID: c})
		names := fileBases(r)
		seen := map[string]bool{}
		for _, s := range r.Steps {
			n, ok := names[s.ID]
			if !ok {
				t.Fatalf("no name for %q", s.ID)
			}
			if n == "" || strings.ContainsAny(n, `/\`+"\x00") || strings.HasPrefix(n, ".") || filepath.Base(n) != n {
				t.Fatalf("step %q: unsafe name %q", s.ID, n)
			}
			if seen[strings.ToLower(n)] && a != b && b != c && a != c {
				t.Fatalf("step %q: name %q taken", s.ID, n)
			}
			seen[strings.ToLower(n)] = true
		}
	})
}

func TestDebugTrace(t *testing.T) {
	h := newImageHost(t)
	final := h.put("/img.png", pngBytes("x"), "image/png")
	hop := httptest.NewServer(http.RedirectHandler(final, http.StatusFound))
	t.Cleanup(hop.Close)
	var trace bytes.Buffer
	if _, err := Run(context.Background(), testRun(adStep("a", hop.URL+"/a.png")), Options{AllowInternal: true, Dir: t.TempDir(), Debug: &trace}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(trace.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "GET "+hop.URL+"/a.png (no Authorization) -> 302 Found") ||
		!strings.Contains(lines[1], "GET "+final+" (no Authorization) -> 200 OK") {
		t.Errorf("trace:\n%s", trace.String())
	}
}

// A rerun's reused steps have the images of the run they come from: they are downloaded
// with the rest, so the directory holds the whole pipeline's images.
func TestDownloadReusedSteps(t *testing.T) {
	h := newImageHost(t)
	hero := adStep("hero", h.put("/h.png", pngBytes("h"), "image/png"))
	hero.Status = run.StepReused
	r := testRun(hero, adStep("loc_fr", h.put("/f.png", pngBytes("f"), "image/png")))
	res, err := Run(context.Background(), r, Options{AllowInternal: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 2 || h.hits["/h.png"] != 1 {
		t.Errorf("downloaded %d items, the reused hero %d times", len(res.Items), h.hits["/h.png"])
	}
}
