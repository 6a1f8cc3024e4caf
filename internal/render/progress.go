package render

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// Options says how a Progress draws a run.
type Options struct {
	Format Format
	// Quiet drops the progress on stderr; the final result is still written.
	Quiet bool
	// ShowAttempts is set by local runs, which know attempt counts: every step event line
	// then names its attempt (the table has an ATTEMPT column when some step retried,
	// whoever counted).
	ShowAttempts bool
	// MaxAttempts is each step's number of attempts (local runs), for "retry 2/4".
	MaxAttempts map[string]int
	// Clock gives "now" for elapsed times and untimed events, and paces the live table's
	// redraws; nil means the wall clock.
	Clock clock.Clock
	// Tick is the redraw interval of the live table; 0 means 100ms.
	Tick time.Duration
	// Locate says where a step is written in the pipeline file (its name, and a zero Pos
	// when the step is not found), so that a failed step's GitHub annotation points at it;
	// nil when the run has no file here.
	Locate func(step string) (file string, pos pipeline.Pos)
	// JobSummary appends the run to the GitHub job summary (GITHUB_STEP_SUMMARY) when it
	// ends: pi run and runs get --wait ask for it (summary_github.go).
	JobSummary bool
}

// Progress draws one run as it happens and its result at the end. There is one
// implementation per output format (NewProgress chooses it once); GitHub Actions
// annotations are a decorator around it. Event and Warn may be called from any goroutine;
// Start, Finish and Stop from the command's goroutine.
type Progress interface {
	// Start shows the run as first known (its id; the live table begins).
	Start(r *run.Run)
	// Event records a transition; snap is the run after it. snap may be nil when e carries
	// what changed (run.Event.Step, as the local engine's events do): a Progress that
	// keeps the run then updates its own copy from e, so an event costs the same whatever
	// the size of the run.
	Event(e run.Event, snap *run.Run)
	// Warn prints a warning that stays on screen (above a live table).
	Warn(msg string)
	// Stop ends the progress without a result (Ctrl-C, timeout, an error). Idempotent.
	Stop()
	// Finish stops the progress and writes the result on stdout; the error is a failure
	// to write.
	Finish(r *run.Run) error
}

// Decorator wraps a Progress to add to what it writes (GitHub annotations, a job summary).
// live tells whether the inner progress redraws a live block on stderr.
type Decorator func(ios *IOStreams, opts Options, inner Progress, live bool) Progress

// decorators are applied by NewProgress, innermost first; each decides from the
// environment whether it applies and returns inner unchanged when not.
var decorators = []Decorator{githubAnnotations, jobSummary}

// NewProgress returns the Progress for opts.Format, decorated.
func NewProgress(ios *IOStreams, opts Options) Progress {
	if opts.Format == "" {
		opts.Format = FormatTable
	}
	opts.Clock = clock.Or(opts.Clock)
	if opts.Tick <= 0 {
		opts.Tick = 100 * time.Millisecond
	}
	b := newBase(ios, opts)
	var p Progress
	live := false
	switch {
	case opts.Format == FormatJSONL:
		p = &jsonlProgress{base: b, seen: newDedupe()}
	case opts.Format == FormatJSON:
		p = &jsonProgress{linesProgress{base: b, seen: newDedupe()}}
	case opts.Format == FormatTable && !opts.Quiet && ios.Interactive() && !inGitHubActions(ios):
		// GitHub logs are never terminals; a live block would only fight the annotations.
		live = true
		p = newLiveProgress(b)
	default:
		p = &linesProgress{base: b, seen: newDedupe()}
	}
	for _, d := range decorators {
		p = d(ios, opts, p, live)
	}
	return p
}

// base is what every format shares: the streams, the styles and the first write error.
type base struct {
	io   *IOStreams
	opts Options
	st   *styles // for stdout (the result)
	est  *styles // for stderr (progress)

	mu  sync.Mutex
	err error // first write error
}

func newBase(ios *IOStreams, opts Options) *base {
	color := ios.ColorEnabled()
	if opts.Format == FormatPlain {
		// plain looks like piped output even on a terminal: colour only when forced
		color = color && colorFromEnv(ios.Getenv, false)
	}
	return &base{io: ios, opts: opts, st: newStyles(ios.Out, color, ios.Getenv), est: newStyles(ios.ErrOut, color, ios.Getenv)}
}

// write writes s to w, keeping the first error. Caller holds b.mu.
func (b *base) write(w io.Writer, s string) {
	if _, err := io.WriteString(w, s); err != nil && b.err == nil {
		b.err = fmt.Errorf("write output: %w", err)
	}
}

func (b *base) warnLine(msg string) string {
	return b.est.paint(b.est.warn, "warning: ") + msg + "\n"
}

func (b *base) view() view {
	return view{maxAttempts: b.opts.MaxAttempts}
}

// writeResult writes the final table and summary on stdout. Caller holds b.mu.
func (b *base) writeResult(r *run.Run) {
	now := b.opts.Clock.Now()
	// laid out as the live block was (a column narrower than the terminal), so the final
	// table that replaces it has the same columns
	w := b.io.StdoutWidth()
	if w > 1 {
		w--
	}
	lines := table(b.st, r, measure(r).layout(w), now, -1, b.view())
	lines = append(lines, "")
	lines = append(lines, summary(b.st, r, now, b.io.StdoutWidth())...)
	b.write(b.io.Out, strings.Join(lines, "\n")+"\n")
}

// dedupe remembers what the last event written per subject said (step id; "" for the
// run), so a line that would repeat it is left out. It keeps only what an event says, not
// the whole event: a run may have 100,000 steps.
type dedupe map[string]said

// said is what an event says to a reader of its line.
type said struct {
	status, err, jobID string
	attempt            int
	retryIn            time.Duration
}

func saidBy(e run.Event) said {
	return said{status: e.Status, err: e.Error, jobID: e.JobID, attempt: e.Attempt, retryIn: e.RetryIn}
}

func newDedupe() dedupe { return dedupe{} }

// add records e and reports whether it says something new, and what the subject's
// previous event said.
func (d dedupe) add(e run.Event) (prev said, fresh bool) {
	now := saidBy(e)
	prev, seen := d[e.StepID]
	if seen && prev == now {
		return prev, false // e.g. the engine's run start after Start's own line
	}
	d[e.StepID] = now
	return prev, true
}
