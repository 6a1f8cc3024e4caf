package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// One deadline covers a run and its downloads: pi run --download DIR --timeout T against
// an image sent a byte at a time ends at T with exit 5 (the run completed, its images did
// not all arrive: the message says how to get them), as pi runs download --timeout T does.
func TestDownloadWithinTheDeadline(t *testing.T) {
	trickle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
		for {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := w.Write([]byte{0}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	defer trickle.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(202)
			fmt.Fprintf(w, `{"id":"req_pi_1","object":"run","status":"queued","data":{"run_id":%q,"status":"pending","steps":[{"id":"hero","status":"pending"}]}}`, followID)
			return
		}
		fmt.Fprintf(w, `{"id":"req_pi_2","object":"run","status":"completed","data":{"id":%q,"status":"completed","steps":[`+
			`{"id":"hero","action":"campaigns.generate","status":"completed","depends_on":[],"job_id":"0b5d4c1e-1111-4222-8333-444455557777",`+
			`"result":{"job_id":"0b5d4c1e-1111-4222-8333-444455557777","image_url":%q,"result_url":%q}}]}}`, followID, trickle.URL+"/hero.png", trickle.URL+"/hero.png")
	}))
	defer api.Close()
	dir := t.TempDir()
	file := writePipeline(t, dir, "steps:\n  - id: hero\n    action: campaigns.generate\n    input: { prompt: an ad }\n")
	for _, args := range [][]string{
		{"run", file, "--download", filepath.Join(dir, "a"), "--timeout", "2s", "-o", "plain"},
		{"runs", "download", followID, "-D", filepath.Join(dir, "b"), "--timeout", "2s"},
	} {
		f, _, errOut := remoteFactory(t, api.URL, "pi_test_0123456789")
		start := time.Now()
		code := runWithin(t, 30*time.Second, f, args...)
		if code != ExitTimeout {
			t.Errorf("pi %s: exit %d, want 5:\n%s", strings.Join(args[:2], " "), code, errOut)
		}
		if !strings.Contains(errOut.String(), "--timeout 2s passed while downloading") {
			t.Errorf("pi %s: stderr does not say the timeout passed while downloading:\n%s", strings.Join(args[:2], " "), errOut)
		}
		t.Logf("pi %s ended after %s", strings.Join(args[:2], " "), time.Since(start).Round(time.Millisecond))
	}
}
