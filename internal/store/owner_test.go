package store

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

func TestOwnerRoundTrip(t *testing.T) {
	for _, s := range []string{"host:42", "host:42:987654", "mac.local:7:1700000000.123456"} {
		o, ok := ParseOwner(s)
		if !ok || o.String() != s {
			t.Errorf("ParseOwner(%q) = %+v, %v; String %q", s, o, ok, o.String())
		}
	}
	for _, s := range []string{"", "host", "host:", "host:x", "host:-1", "host:0"} {
		if o, ok := ParseOwner(s); ok {
			t.Errorf("ParseOwner(%q) = %+v, want none", s, o)
		}
	}
}

// startTimes reports whether this system's process start times are read (Linux, macOS);
// elsewhere an owner is its pid alone.
func startTimes(t *testing.T) {
	t.Helper()
	if _, ok := processStart(os.Getpid()); !ok {
		t.Skipf("process start times are not read on %s: the pid alone decides", runtime.GOOS)
	}
}

// A pid is reused after its process dies: a record whose owner pid is a live process
// with another start time belongs to a process that is gone.
func TestOwnerLiveness(t *testing.T) {
	startTimes(t)
	me := Self()
	for _, tt := range []struct {
		name  string
		owner Owner
		want  Liveness
	}{
		{"none", Owner{}, OwnerUnknown},
		{"this process", me, OwnerAlive},
		{"this pid, no start time (an older pi's record)", Owner{Host: me.Host, PID: me.PID}, OwnerAlive},
		{"this pid given to another process", Owner{Host: me.Host, PID: me.PID, Start: me.Start + "0"}, OwnerGone},
		{"no such process", Owner{Host: me.Host, PID: 1 << 30, Start: "1"}, OwnerGone},
		{"another host", Owner{Host: me.Host + ".elsewhere", PID: me.PID, Start: me.Start}, OwnerElsewhere},
	} {
		if got := tt.owner.Liveness(); got != tt.want {
			t.Errorf("%s: %+v.Liveness() = %d, want %d", tt.name, tt.owner, got, tt.want)
		}
	}
}

// The resume rules read the owner's liveness: a run whose pid now belongs to another
// process may be resumed (and shows interrupted); one whose owner runs may not.
func TestResumableAfterPIDReuse(t *testing.T) {
	startTimes(t)
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	me := Self()
	for i, tt := range []struct {
		owner Owner
		want  Takeover
		err   bool
	}{
		{Owner{Host: me.Host, PID: me.PID, Start: me.Start + "0"}, TakeoverInterrupted, false},
		{me, 0, true},
	} {
		r := newRun(string(rune('a' + i)))
		if err := s.Create(context.Background(), Record{Run: r, File: "p.yaml", Owner: tt.owner}); err != nil {
			t.Fatal(err)
		}
		rec, err := s.Get(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		how, err := Resumable(rec)
		if how != tt.want || (err != nil) != tt.err {
			t.Errorf("owner %+v: Resumable = %d, %v; want %d, error %v", tt.owner, how, err, tt.want, tt.err)
		}
		if got := Interrupted(run.InProgress, rec.Owner); got == tt.err {
			t.Errorf("owner %+v: Interrupted = %v", tt.owner, got)
		}
	}
}
