package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/clock"
)

func TestCacheFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want cacheOptions
		code int
	}{
		{args: []string{"list"}, want: cacheOptions{Op: "list", Output: "table"}},
		{args: []string{"list", "-o", "json"}, want: cacheOptions{Op: "list", Output: "json"}},
		{args: []string{"prune", "--older-than", "30d"}, want: cacheOptions{Op: "prune", Output: "table", OlderThan: 30 * 24 * time.Hour}},
		{args: []string{"prune", "--older-than", "90m"}, want: cacheOptions{Op: "prune", Output: "table", OlderThan: 90 * time.Minute}},
		{args: []string{"clear"}, want: cacheOptions{Op: "clear", Output: "table"}},
		{args: []string{"prune"}, code: ExitUsage},
		{args: []string{"prune", "--older-than", "-3d"}, code: ExitUsage},
		{args: []string{"prune", "--older-than", "soon"}, code: ExitUsage},
		{args: []string{"list", "-o", "yaml"}, code: ExitUsage},
		{args: []string{"clear", "all"}, code: ExitUsage},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, _, _ := testFactory()
			var got *cacheOptions
			cmd := newCacheCmd(f, func(o *cacheOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError{err} })
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.code != 0 {
				if err == nil || exitCode(err) != tt.code {
					t.Fatalf("err %v (exit %d), want exit %d", err, exitCode(err), tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Path, got.Clock = nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("options %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestCacheCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "pi", "cache.db")
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	c, err := cache.Open(ctx, path, cache.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for i, prompt := range []string{"hero", "banner\x1b[31m"} {
		k, _ := cache.NewKey("campaigns.generate", map[string]any{"prompt": prompt}, "https://pi.example.com key:0011")
		job := []string{"6a1f3c2e-0000-4000-8000-000000000001", "6a1f3c2e-0000-4000-8000-000000000002"}[i]
		if err := c.Put(ctx, k, "hero\x1b[2J", job, map[string]any{"job_id": job}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(48 * time.Hour)
	}
	c.Close()
	do := func(o *cacheOptions) (string, string) {
		t.Helper()
		f, out, errOut := testFactory()
		o.Path = func() (string, error) { return path, nil }
		o.Clock = clk
		if o.Output == "" {
			o.Output = "table"
		}
		if err := runCache(ctx, f, o); err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String()
	}
	out, errOut := do(&cacheOptions{Op: "list"})
	if !strings.Contains(out, "KEY") || !strings.Contains(out, "campaigns.generate") || strings.Count(out, "\n") != 3 ||
		!strings.Contains(out, "4d") || !strings.Contains(errOut, "2 entries") {
		t.Errorf("list:\n%s%s", out, errOut)
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("list printed a raw escape: %q", out)
	}
	out, _ = do(&cacheOptions{Op: "list", Output: "json"})
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 || rows[0]["job_id"] != "6a1f3c2e-0000-4000-8000-000000000002" {
		t.Errorf("json %s (%v)", out, err)
	}
	if _, errOut = do(&cacheOptions{Op: "prune", OlderThan: 72 * time.Hour}); !strings.Contains(errOut, "deleted 1 entry") {
		t.Errorf("prune: %s", errOut)
	}
	if _, errOut = do(&cacheOptions{Op: "clear"}); !strings.Contains(errOut, "deleted 1 entry") {
		t.Errorf("clear: %s", errOut)
	}
	if _, errOut = do(&cacheOptions{Op: "list"}); !strings.Contains(errOut, "is empty") {
		t.Errorf("empty list: %s", errOut)
	}
	// A damaged file: list says what to do, clear deletes it.
	if err := os.WriteFile(path, []byte(strings.Repeat("garbage ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	f, _, _ := testFactory()
	if err := runCache(ctx, f, &cacheOptions{Op: "list", Output: "table", Path: func() (string, error) { return path, nil }, Clock: clk}); err == nil || !strings.Contains(err.Error(), "pi cache clear") {
		t.Errorf("damaged list: %v", err)
	}
	if _, errOut = do(&cacheOptions{Op: "clear"}); !strings.Contains(errOut, "not a usable step cache") {
		t.Errorf("damaged clear: %s", errOut)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("damaged file kept: %v", err)
	}
}
