package store

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/pi-cli/pi/internal/run"
)

// Owner is the pi process that executes a local run, as its record names it: the host, the
// process id and, where the system tells it, the process's start time. The start time is
// what tells the owner from a later process that was given the same pid after the owner
// died (kill -9, a crash): a pid alone is reused. Where no start time can be read (systems
// other than Linux and macOS, and records of older pi versions) the pid alone decides.
type Owner struct {
	Host string
	PID  int
	// Start is the process's start time as the system gives it, an opaque token compared
	// for equality only (Linux: field 22 of /proc/PID/stat, clock ticks since boot; macOS:
	// kern.proc.pid's p_starttime); "" when unknown.
	Start string
}

// Liveness is what can be known of a run's owner from this machine.
type Liveness int

const (
	// OwnerUnknown: the record names no process (an older pi's record, or a finished run).
	OwnerUnknown Liveness = iota
	// OwnerElsewhere: the owner is on another host, where its process cannot be checked.
	OwnerElsewhere
	// OwnerAlive: the owner process runs on this machine.
	OwnerAlive
	// OwnerGone: the owner process no longer exists (killed, crashed, the machine
	// restarted), or its pid now belongs to another process.
	OwnerGone
)

var (
	selfOnce sync.Once
	self     Owner
)

// Self is this pi process as a run's owner.
func Self() Owner {
	selfOnce.Do(func() {
		host, _ := os.Hostname()
		pid := os.Getpid()
		start, _ := processStart(pid)
		self = Owner{Host: host, PID: pid, Start: start}
	})
	return self
}

// ParseOwner reads a record's owner: "host:pid" or "host:pid:start". ok is false for ""
// and anything else (a record that names no process).
func ParseOwner(s string) (o Owner, ok bool) {
	host, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Owner{}, false
	}
	pidText, start, _ := strings.Cut(rest, ":")
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return Owner{}, false
	}
	return Owner{Host: host, PID: pid, Start: start}, true
}

// String is the owner as a record stores it (ParseOwner reads it back).
func (o Owner) String() string {
	s := o.Host + ":" + strconv.Itoa(o.PID)
	if o.Start != "" {
		s += ":" + o.Start
	}
	return s
}

// Liveness says whether the owner still runs. A live pid whose start time differs from
// the recorded one is another process that was given the owner's pid: the owner is gone.
func (o Owner) Liveness() Liveness {
	if o.PID <= 0 {
		return OwnerUnknown
	}
	if o.Host != Self().Host {
		return OwnerElsewhere
	}
	if !processAlive(o.PID) {
		return OwnerGone
	}
	if o.Start != "" {
		if start, ok := processStart(o.PID); ok && start != o.Start {
			return OwnerGone
		}
	}
	return OwnerAlive
}

// Interrupted reports a run recorded in progress whose pi process is gone: it will not
// end by itself, and `pi run --resume` may continue it.
func Interrupted(status run.Status, o Owner) bool {
	return !status.Terminal() && o.Liveness() == OwnerGone
}
