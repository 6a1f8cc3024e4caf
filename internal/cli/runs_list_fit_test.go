package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// pi runs list on an 80-column terminal fits each run on one line (ids of 8 characters,
// which every command takes as a prefix; a long FILE cut in its middle); piped, or on a
// terminal wide enough, every id is whole.
func TestRunsListFitsTheTerminal(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"45de2349-0000-4000-8000-000000000001", "9f175af9-0000-4000-8000-000000000002"}
	files := []string{"p.yaml", "campaigns/spring-launch/markets/europe-west/localized-hero-ads.yaml"}
	for i, id := range ids {
		r := &run.Run{ID: id, Status: run.Completed}
		if err := st.Create(context.Background(), store.Record{Run: r, File: files[i], Pipeline: []byte("steps: []")}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	list := func(tty bool, width int) string {
		ios, _, out, errOut := render.Test()
		ios.SetTTY(tty)
		ios.SetWidth(width)
		f := &Factory{IO: ios, Getenv: func(k string) string { return map[string]string{"XDG_STATE_HOME": dir}[k] }}
		if code := Execute(context.Background(), f, []string{"runs", "list"}); code != ExitOK {
			t.Fatalf("runs list: exit %d\n%s", code, errOut)
		}
		return out.String()
	}
	narrow := list(true, 80)
	for l := range strings.Lines(narrow) {
		if n := utf8.RuneCountInString(strings.TrimSuffix(l, "\n")); n > 80 {
			t.Errorf("a line of %d columns at 80: %q", n, l)
		}
	}
	if !strings.Contains(narrow, "\n45de2349  ") || strings.Contains(narrow, ids[0]) || !strings.Contains(narrow, "…") {
		t.Errorf("at 80 columns ids are not short, or FILE not cut:\n%s", narrow)
	}
	for _, whole := range []string{list(false, 80), list(true, 200)} {
		if !strings.Contains(whole, ids[0]) || !strings.Contains(whole, files[1]) {
			t.Errorf("piped or wide, an id or a file is cut:\n%s", whole)
		}
	}
}
