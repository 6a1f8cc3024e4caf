package batch

import "github.com/pi-cli/pi/internal/store"

// Status is a row's status in the ledger.
type Status string

// A row is pending until it starts, running while its run goes on, then one word per exit
// code of its run (DESIGN.md's exit codes).
const (
	Pending     Status = "pending"
	Running     Status = "running"
	Completed   Status = "completed"   // exit 0
	Failed      Status = "failed"      // exit 1: its run failed
	Invalid     Status = "invalid"     // exit 2: the pipeline is invalid with this row's params
	Cancelled   Status = "cancelled"   // exit 3
	Errored     Status = "error"       // exit 4: an API or network error
	TimedOut    Status = "timeout"     // exit 5: --timeout passed first
	Interrupted Status = "interrupted" // exit 130: Ctrl-C, or its pi was killed
)

// The exit codes of DESIGN.md, as a row's run gives them.
const (
	codeOK          = 0
	codeFailed      = 1
	codeUsage       = 2
	codeCancelled   = 3
	codeAPI         = 4
	codeTimeout     = 5
	codeInterrupted = 130
)

// StatusOf is the status of a row whose run exited with code.
func StatusOf(code int) Status {
	switch code {
	case codeOK:
		return Completed
	case codeFailed:
		return Failed
	case codeUsage:
		return Invalid
	case codeCancelled:
		return Cancelled
	case codeAPI:
		return Errored
	case codeTimeout:
		return TimedOut
	}
	return Interrupted
}

// worstOrder is the batch's exit code: the first of these that some row has. Worst first:
// 130 (the batch was cut off: rows are left), 2 (a row cannot run as written: retrying will
// not help), 4 (the API failed a row: retrying may), 5 (a row's run had not ended by
// --timeout), 3 (a row's run was cancelled), 1 (a row's run failed), 0 (every row completed).
var worstOrder = []int{codeInterrupted, codeUsage, codeAPI, codeTimeout, codeCancelled, codeFailed, codeOK}

// Worst is the exit code of a batch whose rows exited with codes: the worst by worstOrder
// (a code it does not list counts as 130); 0 for no rows.
func Worst(codes []int) int {
	best := len(worstOrder) - 1
	for _, c := range codes {
		rank := 0
		for i, w := range worstOrder {
			if w == c {
				rank = i
				break
			}
		}
		best = min(best, rank)
	}
	return worstOrder[best]
}

// Done reports whether a row needs no more running: its run completed.
func Done(r *store.BatchRow) bool { return Status(r.Status) == Completed }

// Retryable reports whether --failed reruns the row: its run ended without completing
// (failed, cancelled), or it could not run (invalid, an API error). A row never started, or
// cut off (interrupted, timeout, its pi killed), is left to a plain --resume.
func Retryable(r *store.BatchRow) bool {
	switch Status(r.Status) {
	case Failed, Invalid, Cancelled, Errored:
		return true
	}
	return false
}

// ToResume is the rows a resume runs, in order: every row not completed, or with failed
// only those Retryable.
func ToResume(rows []store.BatchRow, failed bool) []int {
	var out []int
	for i := range rows {
		r := &rows[i]
		if failed && Retryable(r) || !failed && !Done(r) {
			out = append(out, i)
		}
	}
	return out
}
