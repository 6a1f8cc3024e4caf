//go:build unix

package actions

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A script that leaves a child in the background still finishes when the script does: the
// child holds a copy of the output pipe, which must not keep the step waiting.
func TestShellRunBackgroundChildDoesNotHang(t *testing.T) {
	done := make(chan map[string]any, 1)
	errc := make(chan error, 1)
	go func() {
		res, err := shellRun(context.Background(), req("shell.run", map[string]any{"script": "sleep 600 & echo started"}))
		errc <- err
		done <- res
	}()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
		if res := <-done; res["stdout"] != "started\n" {
			t.Fatalf("result = %v, want stdout %q", res, "started\n")
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("shell.run waited for the background child instead of the script")
	}
}

// Output beyond MaxOutput is dropped, and the result says so.
func TestShellRunCapsOutput(t *testing.T) {
	res, err := shellRun(context.Background(), req("shell.run", map[string]any{
		"script": "head -c 1100000 /dev/zero | tr '\\0' x"}))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := res["stdout"].(string); len(out) != MaxOutput || strings.Trim(out, "x") != "" {
		t.Fatalf("stdout has %d bytes, want exactly %d", len(out), MaxOutput)
	}
	if res["truncated"] != true {
		t.Fatalf("truncated = %v, want true", res["truncated"])
	}
}
