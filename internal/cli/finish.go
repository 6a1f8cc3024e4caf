package cli

import (
	"fmt"
	"time"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
)

// outcome is how pi's part in a run ended.
type outcome int

const (
	// outcomeEnded: the run reached its end (or, for a look without --wait, its state is
	// shown); its status gives the exit code.
	outcomeEnded outcome = iota
	// outcomeDetached: the run was created and pi let go of it (--detach).
	outcomeDetached
	// outcomeTimeout: --timeout passed first (a local run is cancelled; a remote one goes on).
	outcomeTimeout
	// outcomeInterrupted: Ctrl-C or SIGTERM.
	outcomeInterrupted
	// outcomeOrphaned: a local run another pi process was executing, which is gone.
	outcomeOrphaned
)

// place is where the run was, for what finish says about it.
type place int

const (
	placeRemote   place = iota // on the Pi API (or the sandbox), followed by this pi
	placeCreating              // on the Pi API, whose creation did not answer
	placeLocal                 // executed by this pi's engine
	placeWatched               // a local run of another pi process (pi runs get --wait)
	placeWaves                 // a logical run of several server runs, sent by this pi (internal/waves)
)

// runResult is how a run that pi ran, created or followed ended, for finish.
type runResult struct {
	run   *run.Run // the last state known; nil when the run was not created
	how   outcome
	where place
	// timeout is --timeout, for placeLocal's message.
	timeout time.Duration
	// note is what is known of a run whose creation did not answer (placeCreating), or
	// which server runs of a logical run go on (placeWaves).
	note string
	// recordErr says that a local run's record is incomplete: a warning, the run's own
	// outcome stands.
	recordErr error
	// owner is the pid of a watched run's pi process (outcomeOrphaned).
	owner int
}

// finish turns how a run ended into the exit code DESIGN.md gives, with the message that
// says what to do next. download, when set, saves the images of a run that ended; the run's
// own outcome comes first: a failed download of a completed run is its own error (exit 4,
// or 2 for a directory of another run), one of any other run is printed and the run's code
// stands.
func finish(ios *render.IOStreams, res runResult, download func(*run.Run) error) error {
	if res.how == outcomeDetached {
		fmt.Fprintln(ios.Out, res.run.ID)
		return nil
	}
	var derr error
	if download != nil && res.run != nil && res.run.Status.Terminal() {
		derr = download(res.run)
	}
	if res.recordErr != nil {
		id := res.run.ID
		fmt.Fprintf(ios.ErrOut, "warning: run %s %s, but its record is incomplete: %v\n  'pi runs get %s' may show it unfinished, and 'pi run --resume %s' would run its unrecorded steps again\n",
			id, res.run.Status, res.recordErr, id, id)
	}
	code, msg := res.exit()
	if msg != "" {
		fmt.Fprintln(ios.ErrOut, msg)
	}
	if derr != nil {
		if code == ExitOK {
			return derr
		}
		if !isSilent(derr) {
			printError(ios.ErrOut, derr)
		}
	}
	if code == ExitOK {
		return nil
	}
	return SilentExit(code)
}

// exit is the exit code of res and the message that goes with it ("" for none).
func (res runResult) exit() (int, string) {
	var id string
	status := "unknown"
	if res.run != nil {
		id, status = res.run.ID, string(res.run.Status)
	}
	follow := fmt.Sprintf("follow it with: pi runs get %s --wait", id)
	switch res.how {
	case outcomeTimeout:
		switch res.where {
		case placeLocal:
			return ExitTimeout, fmt.Sprintf("timeout after %s: run %s was cancelled; continue it with 'pi run --resume %s'", res.timeout, id, id)
		case placeCreating:
			return ExitTimeout, fmt.Sprintf("timeout: --timeout %s passed while creating the run%s", res.timeout, res.note)
		case placeWatched:
			return ExitTimeout, fmt.Sprintf("timeout: local run %s is still %s", id, status)
		case placeWaves:
			return ExitTimeout, fmt.Sprintf("timeout: pi stopped following run %s after %s; %s", id, res.timeout, res.note)
		}
		return ExitTimeout, fmt.Sprintf("timeout: run %s is still %s; %s", id, status, follow)
	case outcomeInterrupted:
		switch res.where {
		case placeLocal:
			return ExitInterrupted, fmt.Sprintf("interrupted: run %s recorded as cancelled; continue it with 'pi run --resume %s'", id, id)
		case placeCreating:
			return ExitInterrupted, fmt.Sprintf("interrupted while creating the run%s", res.note)
		case placeWatched:
			return ExitInterrupted, ""
		case placeWaves:
			return ExitInterrupted, fmt.Sprintf("interrupted: pi stopped following run %s; %s", id, res.note)
		}
		return ExitInterrupted, fmt.Sprintf("interrupted: run %s goes on on the server; %s", id, follow)
	case outcomeOrphaned:
		return ExitRunFailed, fmt.Sprintf("run %s was interrupted: its pi process %d is gone; continue it with: pi run --resume %s", id, res.owner, id)
	}
	return exitForRun(res.run), ""
}

// exitForRun is the exit code a run's state gives (DESIGN.md): 0 completed or not ended yet,
// 1 failed, 3 cancelled.
func exitForRun(r *run.Run) int {
	switch r.Status {
	case run.Failed:
		return ExitRunFailed
	case run.Cancelled:
		return ExitCancelled
	}
	return ExitOK
}
