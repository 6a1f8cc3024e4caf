package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// The local example testdata/pipelines/valid/local/notify.yaml runs: the check step gets
// the ad's URL on stdin, the webhook (a test server here) gets it as the body.
func TestNotifyExampleRuns(t *testing.T) {
	var mu sync.Mutex
	var posted string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posted = string(b)
		mu.Unlock()
	}))
	defer hook.Close()
	state := t.TempDir()
	f, errOut := localFactory(t, state)
	err := runRun(context.Background(), &runOptions{runDeps: f.runDeps(), File: "../../testdata/pipelines/valid/local/notify.yaml",
		Local: true, Sandbox: true, Params: map[string]string{"webhook": hook.URL}})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut)
	}
	r := storedRun(t, state, "")
	check, ad := r.Step("check"), r.Step("ad")
	img, _ := ad.Result["image_url"].(string)
	if r.Status != run.Completed || img == "" || strings.TrimSpace(check.Result["stdout"].(string)) != "checked review "+img {
		t.Fatalf("run %s, check %+v", r.Status, check)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(posted, "New ad ready") {
		t.Errorf("webhook got %q", posted)
	}
}
