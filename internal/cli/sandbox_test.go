package cli

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

func TestStartSandbox(t *testing.T) {
	ctx := context.Background()
	state := t.TempDir()
	getenv := func(k string) string {
		if k == "XDG_STATE_HOME" {
			return state
		}
		return ""
	}
	first, err := startSandbox(ctx, getenv, sandboxSpec{})
	if err != nil {
		t.Fatal(err)
	}
	inst := first.inst
	if !strings.HasPrefix(inst.URL, "http://127.0.0.1:") || !strings.HasPrefix(inst.APIKey, "pi_test_") {
		t.Fatalf("instance %s %s", inst.URL, inst.APIKey)
	}
	if first.DB != filepath.Join(state, "pi", "sandbox", "sandbox.db") {
		t.Errorf("database %s", first.DB)
	}
	req, _ := http.NewRequest("GET", inst.URL+"/api/v1/runs/f027a242-df39-44cb-943a-c9d220ddaebd", nil)
	req.Header.Set("Authorization", "Bearer "+inst.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
	// A second pi at the same time gets a database of its own; one that names the busy
	// database is told so.
	second, err := startSandbox(ctx, getenv, sandboxSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if second.DB == first.DB || filepath.Dir(second.DB) != filepath.Dir(first.DB) {
		t.Errorf("second database %s beside %s", second.DB, first.DB)
	}
	if _, err := startSandbox(ctx, getenv, sandboxSpec{DB: first.DB}); err == nil || !strings.Contains(err.Error(), ErrSandboxBusy.Error()) {
		t.Errorf("a busy database: %v", err)
	}
	second.Close()
	first.Close()
	// Once the first is done, its database is the one the next pi takes.
	again, err := startSandbox(ctx, getenv, sandboxSpec{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.DB != first.DB {
		t.Errorf("after close: %s", again.DB)
	}
}

// A sandbox run's images are served by whichever sandbox reads the run later.
func TestRehostImages(t *testing.T) {
	sess, err := startSandbox(context.Background(), func(string) string { return "" }, sandboxSpec{DB: filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	old := map[string]any{"image_url": "http://127.0.0.1:1/files/campaigns/o/j.png", "job_id": "j"}
	r := &run.Run{Steps: []run.Step{
		{ID: "a", Result: old},
		{ID: "b", Result: map[string]any{"image_url": "https://cdn.example.com/files/x.png"}},
	}}
	sess.rehostImages(r)
	if got := r.Steps[0].Result["image_url"]; got != sess.inst.URL+"/files/campaigns/o/j.png" {
		t.Errorf("rehosted %v", got)
	}
	if old["image_url"] != "http://127.0.0.1:1/files/campaigns/o/j.png" {
		t.Error("the result it came from changed")
	}
	if got := r.Steps[1].Result["image_url"]; got != "https://cdn.example.com/files/x.png" {
		t.Errorf("another host's image moved: %v", got)
	}
}
