package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// Every run is recorded with where it ran; the list filters by place and status, newest
// first, and a record keeps its place, body and rerun across a resume's Create.
func TestWhereAndList(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i, rec := range []Record{
		{Run: &run.Run{ID: "45de2349-0000-4000-8000-000000000001", Status: run.Completed}, File: "local.yaml"},
		{Run: &run.Run{ID: "45de2349-0000-4000-8000-000000000002", Status: run.Failed}, File: "remote.yaml",
			Where: Where{Place: PlaceRemote, Server: "https://pi.example.com", RemoteID: "45de2349-0000-4000-8000-000000000002"}, Body: []byte(`{"steps":[]}`)},
		{Run: &run.Run{ID: "9a000000-0000-4000-8000-000000000003", Status: run.Completed}, File: "sandbox.yaml",
			Where: Where{Place: PlaceSandbox, Server: "/state/pi/sandbox.db", RemoteID: "9a000000-0000-4000-8000-000000000003"}, RerunOf: "45de2349-0000-4000-8000-000000000002"},
		// pi run --local --sandbox: a local run whose jobs are a sandbox's; with --cache=read.
		{Run: &run.Run{ID: "9b000000-0000-4000-8000-000000000004", Status: run.Failed}, File: "local-sandbox.yaml",
			Where: Where{Place: PlaceLocal, Server: "/state/pi/sandbox.db"}, CacheRead: true},
	} {
		rec.Run.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(f Filter) []string {
		t.Helper()
		list, err := s.ListWhere(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range list {
			out = append(out, r.File)
		}
		return out
	}
	for _, tt := range []struct {
		f    Filter
		want []string
	}{
		{Filter{}, []string{"local-sandbox.yaml", "sandbox.yaml", "remote.yaml", "local.yaml"}},
		{Filter{Place: PlaceRemote}, []string{"remote.yaml"}},
		{Filter{Place: PlaceLocal}, []string{"local-sandbox.yaml", "local.yaml"}},
		{Filter{Place: PlaceSandbox}, []string{"local-sandbox.yaml", "sandbox.yaml"}},
		{Filter{Status: run.Completed}, []string{"sandbox.yaml", "local.yaml"}},
		{Filter{Place: PlaceSandbox, Status: run.Failed}, []string{"local-sandbox.yaml"}},
		{Filter{Limit: 1}, []string{"local-sandbox.yaml"}},
	} {
		if got := ids(tt.f); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v: %v, want %v", tt.f, got, tt.want)
		}
	}
	if rec, err := s.Get(ctx, "9b000000-0000-4000-8000-000000000004"); err != nil || !rec.CacheRead || rec.Remote() {
		t.Fatalf("local sandbox record %+v, %v", rec, err)
	}
	rec, err := s.Get(ctx, "9a000000-0000-4000-8000-000000000003")
	if err != nil || rec.Place != PlaceSandbox || rec.RerunOf != "45de2349-0000-4000-8000-000000000002" || !rec.Remote() {
		t.Fatalf("sandbox record %+v, %v", rec, err)
	}
	// Create again (a resume) keeps where the run ran and its body.
	rec, _ = s.Get(ctx, "45de2349-0000-4000-8000-000000000002")
	again := Record{Run: rec.Run, File: rec.File}
	if err := s.Create(ctx, again); err != nil {
		t.Fatal(err)
	}
	if rec, _ = s.Get(ctx, "45de2349-0000-4000-8000-000000000002"); rec.Place != PlaceRemote || string(rec.Body) != `{"steps":[]}` {
		t.Errorf("after a second Create: %+v", rec.Where)
	}
	if rec, _ = s.Get(ctx, "45de2349-0000-4000-8000-000000000001"); rec.Place != PlaceLocal || rec.Remote() || rec.Body != nil {
		t.Errorf("local record %+v %q", rec.Where, rec.Body)
	}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"45de2349-aaaa-4000-8000-000000000001", "45de2349-bbbb-4000-8000-000000000002", "7f000000-0000-4000-8000-000000000003"} {
		if err := s.Create(ctx, Record{Run: &run.Run{ID: id, Status: run.Completed}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		in, want string
		err      string
	}{
		{in: "7f000000-0000-4000-8000-000000000003", want: "7f000000-0000-4000-8000-000000000003"},
		{in: "7f00", want: "7f000000-0000-4000-8000-000000000003"},
		{in: "7F00", want: "7f000000-0000-4000-8000-000000000003"},
		{in: "45de2349-a", want: "45de2349-aaaa-4000-8000-000000000001"},
		{in: "45de2349", err: `"45de2349" is the start of 2 run ids: 45de2349-bbbb-4000-8000-000000000002, 45de2349-aaaa-4000-8000-000000000001`},
		{in: "7f0", err: "at least 4 characters"},
		{in: "0000", err: "no such run"},
		{in: "45de%", err: "no such run"},
	} {
		got, err := s.Resolve(ctx, tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Resolve(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v", tt.in, got, err)
		}
	}
	var amb *AmbiguousError
	if _, err := s.Resolve(ctx, "45de"); !errors.As(err, &amb) || len(amb.IDs) != 2 {
		t.Errorf("ambiguous: %v", err)
	}
	if _, err := s.Resolve(ctx, "0000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("not found: %v", err)
	}
}

// SaveRun replaces a record's state with what the server says now (and the reused steps).
func TestSaveRun(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := &run.Run{ID: "r1", Status: run.Pending, Steps: []run.Step{
		{ID: "hero", Action: "campaigns.generate", Status: run.StepReused, JobID: "j0", Result: map[string]any{"job_id": "j0"}},
		{ID: "fr", Action: "campaigns.localize_ad", Status: run.StepPending, DependsOn: []string{"hero"}},
	}}
	if err := s.Create(ctx, Record{Run: r, Where: Where{Place: PlaceRemote, RemoteID: "r1"}}); err != nil {
		t.Fatal(err)
	}
	r.Status = run.Completed
	r.Steps[1].Status, r.Steps[1].JobID = run.StepCompleted, "j1"
	if err := s.SaveRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "r1")
	if err != nil || got.Run.Status != run.Completed || got.Run.Steps[0].Status != run.StepReused || got.Run.Steps[1].JobID != "j1" {
		t.Fatalf("after SaveRun: %+v, %v", got.Run, err)
	}
	if err := s.SaveRun(ctx, &run.Run{ID: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
}

// Sandboxed is the PlaceSandbox filter's rule for one run: --sandbox runs and --local
// --sandbox runs, not local or remote ones.
func TestWhereSandboxed(t *testing.T) {
	for _, c := range []struct {
		w    Where
		want bool
	}{
		{Where{Place: PlaceSandbox, Server: "/state/sandbox.db", RemoteID: "r"}, true},
		{Where{Place: PlaceLocal, Server: "/state/sandbox.db"}, true},
		{Where{Place: PlaceLocal}, false},
		{Where{}, false},
		{Where{Place: PlaceRemote, Server: "https://pi.example.com", RemoteID: "r"}, false},
	} {
		if got := c.w.Sandboxed(); got != c.want {
			t.Errorf("%+v.Sandboxed() = %v, want %v", c.w, got, c.want)
		}
	}
}
