package render

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// Options says how a Progress draws a run.
type Options struct {
	Format Format
	// Quiet drops the progress on stderr; the final result is still written.
	Quiet bool
	// ShowAttempts is set by local runs, which know attempt counts: every step event line
	// then names its attempt (remote runs name none; the server does not count them).
	ShowAttempts bool
	// Clock gives "now" for elapsed times and untimed events; nil means time.Now.
	Clock func() time.Time
	// Tick is the redraw interval of the live table; 0 means 100ms.
	Tick time.Duration
}

// Progress draws one run as it happens and its result at the end. Event and Warn may be
// called from any goroutine; Start, Finish and Stop from the command's goroutine.
type Progress struct {
	io   *IOStreams
	opts Options
	st   *styles // for stdout (the result)
	est  *styles // for stderr (progress)
	live bool    // a live table is redrawn on stderr
	gh   bool    // GitHub Actions annotations

	mu      sync.Mutex
	since   time.Time // when Start was called: the header's elapsed time
	last    *run.Run
	drawn   int // lines of the live block currently on screen
	frame   int
	started bool
	grouped bool
	stopped bool
	err     error // first write error
	// shown is the last event written per subject (step id; "" for the run), so a line
	// that would repeat it is left out.
	shown map[string]run.Event

	quit chan struct{}
	wg   sync.WaitGroup
}

// NewProgress returns a Progress writing to io in the given options.
func NewProgress(ios *IOStreams, opts Options) *Progress {
	if opts.Format == "" {
		opts.Format = FormatTable
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Tick <= 0 {
		opts.Tick = 100 * time.Millisecond
	}
	p := &Progress{io: ios, opts: opts, quit: make(chan struct{}), shown: map[string]run.Event{}}
	color := ios.ColorEnabled()
	if opts.Format == FormatPlain {
		// plain looks like piped output even on a terminal: colour only when forced
		color = color && colorFromEnv(ios.Getenv, false)
	}
	p.st = newStyles(ios.Out, color)
	p.est = newStyles(ios.ErrOut, color)
	p.live = opts.Format == FormatTable && !opts.Quiet && ios.Interactive()
	p.gh = ios.Getenv("GITHUB_ACTIONS") == "true"
	return p
}

func (p *Progress) write(w io.Writer, s string) {
	if _, err := io.WriteString(w, s); err != nil && p.err == nil {
		p.err = fmt.Errorf("write output: %w", err)
	}
}

// progressLines reports whether transitions are written as plain lines on stderr.
func (p *Progress) progressLines() bool {
	return !p.opts.Quiet && !p.live && p.opts.Format != FormatJSONL
}

// Start shows the run id (jsonl: the first line) and, on a terminal, begins the live table.
func (p *Progress) Start(r *run.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return
	}
	p.started = true
	p.last = r.Clone()
	now := p.opts.Clock()
	p.since = now
	p.shown[""] = run.Event{RunID: r.ID, Status: string(r.Status)}
	switch {
	case p.opts.Format == FormatJSONL:
		p.jsonLine(run.Event{Time: now.UTC(), RunID: r.ID, Status: string(r.Status)})
	case p.opts.Quiet:
	case p.live:
		p.redraw()
		p.wg.Add(1)
		go p.ticker()
	default:
		if p.gh {
			p.grouped = true
			p.write(p.io.ErrOut, "::group::pi run "+r.ID+"\n")
		}
		p.write(p.io.ErrOut, now.UTC().Format(time.RFC3339)+"  run "+r.ID+"  "+string(r.Status)+"\n")
	}
	if p.opts.Format == FormatJSONL && p.gh && !p.opts.Quiet {
		p.grouped = true
		p.write(p.io.ErrOut, "::group::pi run "+r.ID+"\n")
	}
}

// Event records a transition; snap is the run after it.
func (p *Progress) Event(e run.Event, snap *run.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if snap != nil {
		p.last = snap
	}
	if p.live {
		p.redraw()
		return
	}
	prev, seen := p.shown[e.StepID]
	if seen && sameEvent(prev, e) {
		return // e.g. the engine's run start after Start's own line
	}
	p.shown[e.StepID] = e
	switch {
	case p.opts.Format == FormatJSONL:
		p.jsonLine(e)
	case p.progressLines():
		// A step's job id is worth a line's end when the job starts, not at every change.
		newJob := e.JobID != "" && e.JobID != prev.JobID && !run.StepStatus(e.Status).Terminal()
		p.write(p.io.ErrOut, eventLine(e, p.opts.Clock(), p.opts.ShowAttempts, newJob)+"\n")
	}
}

// sameEvent reports whether b says nothing a reader of a would not know.
func sameEvent(a, b run.Event) bool {
	return a.Status == b.Status && a.Attempt == b.Attempt && a.RetryIn == b.RetryIn &&
		a.Error == b.Error && a.JobID == b.JobID
}

// Warn writes a warning line on stderr without breaking the live table.
func (p *Progress) Warn(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := p.est.paint(p.est.warn, "warning: ") + msg + "\n"
	if p.live && !p.stopped {
		p.clear()
		p.write(p.io.ErrOut, line)
		p.redraw()
		return
	}
	p.write(p.io.ErrOut, line)
}

// Stop ends the live redraw without a summary (Ctrl-C). It may be called more than once.
func (p *Progress) Stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	close(p.quit)
	p.mu.Unlock()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.grouped {
		p.write(p.io.ErrOut, "::endgroup::\n")
		p.grouped = false
	}
}

// Finish stops the live redraw and writes the result: the final table and summary (table,
// plain) or the final run (json, jsonl) on stdout. The error is a failure to write.
func (p *Progress) Finish(r *run.Run) error {
	p.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	if r == nil {
		r = p.last
	}
	if r == nil {
		return p.err
	}
	now := p.opts.Clock()
	if p.live {
		p.clear()
	}
	if p.gh {
		for i := range r.Steps {
			s := &r.Steps[i]
			if s.Status == run.StepFailed {
				msg := s.Error
				if msg == "" {
					msg = "failed"
				}
				p.write(p.io.ErrOut, "::error title="+ghEscapeProp("step "+s.ID+" ("+s.Action+") failed")+"::"+ghEscape(msg)+"\n")
			}
		}
	}
	switch p.opts.Format {
	case FormatJSON:
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return fmt.Errorf("encode run %s: %w", r.ID, err)
		}
		p.write(p.io.Out, string(b)+"\n")
	case FormatJSONL:
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode run %s: %w", r.ID, err)
		}
		p.write(p.io.Out, string(b)+"\n")
	default:
		lines := table(p.st, r, p.io.Width(), now, -1)
		lines = append(lines, "")
		lines = append(lines, summary(p.st, r, now)...)
		p.write(p.io.Out, strings.Join(lines, "\n")+"\n")
	}
	return p.err
}

func (p *Progress) jsonLine(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		if p.err == nil {
			p.err = fmt.Errorf("encode event: %w", err)
		}
		return
	}
	p.write(p.io.Out, string(b)+"\n")
}

// ticker is the one writer of the live block besides Event: it advances the spinner.
func (p *Progress) ticker() {
	defer p.wg.Done()
	t := time.NewTicker(p.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.mu.Lock()
			if !p.stopped {
				p.frame++
				p.redraw()
			}
			p.mu.Unlock()
		}
	}
}

// liveLines is the live block: a header and the table, each line narrower than the
// terminal so nothing wraps (a wrapped line would break the cursor arithmetic).
func (p *Progress) liveLines() []string {
	r := p.last
	now := p.opts.Clock()
	w := p.io.Width() - 1
	if w <= 0 {
		w = 79
	}
	head := fmt.Sprintf("run %s  %s  %s", r.ID, p.est.paint(p.est.runStyle(r.Status), string(r.Status)),
		HumanDuration(now.Sub(p.since)))
	lines := []string{truncateStyled(head, w, r.ID)}
	shown, more := fitRows(r, p.io.Height()-2) // the header line and one spare line
	lines = append(lines, table(p.est, shown, w, now, p.frame)...)
	if more != "" {
		lines = append(lines, truncate(more, w))
	}
	return lines
}

// fitRows keeps the table within room lines (its header included) so the live block never
// scrolls (a scrolled block cannot be redrawn in place): the steps being worked on, the
// failed ones, then those still to come, in file order, and a line that counts the rest.
// room <= 0 means no limit.
func fitRows(r *run.Run, room int) (*run.Run, string) {
	if room <= 0 || len(r.Steps)+1 <= room {
		return r, ""
	}
	rows := max(room-2, 1) // the table's header and the "more" line
	rank := func(s *run.Step) int {
		switch s.Status {
		case run.StepProcessing:
			return 0
		case run.StepFailed:
			return 1
		case run.StepQueued:
			return 2
		case run.StepPending:
			return 3 // what comes next
		}
		return 4 // done with
	}
	order := make([]int, len(r.Steps))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rank(&r.Steps[order[a]]) < rank(&r.Steps[order[b]]) })
	keep := make([]bool, len(r.Steps))
	for _, i := range order[:rows] {
		keep[i] = true
	}
	cut := *r
	cut.Steps = nil
	hidden := map[string]int{}
	for i := range r.Steps {
		if keep[i] {
			cut.Steps = append(cut.Steps, r.Steps[i])
		} else {
			hidden[statusWord(r, &r.Steps[i])]++
		}
	}
	return &cut, fmt.Sprintf("… %d more steps (%s)", len(r.Steps)-rows, countsText(hidden))
}

// truncateStyled keeps a short styled header; it falls back to plain text if too wide.
func truncateStyled(s string, w int, id string) string {
	if visibleWidth(s) <= w {
		return s
	}
	return truncate("run "+id, w)
}

// redraw replaces the live block with the current state. Caller holds p.mu.
func (p *Progress) redraw() {
	if p.last == nil {
		return
	}
	var b strings.Builder
	b.WriteString(p.clearSeq())
	lines := p.liveLines()
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\x1b[K\n")
	}
	p.drawn = len(lines)
	p.write(p.io.ErrOut, b.String())
}

func (p *Progress) clearSeq() string {
	if p.drawn == 0 {
		return ""
	}
	return fmt.Sprintf("\r\x1b[%dA\x1b[J", p.drawn)
}

// clear erases the live block. Caller holds p.mu.
func (p *Progress) clear() {
	if s := p.clearSeq(); s != "" {
		p.write(p.io.ErrOut, s)
	}
	p.drawn = 0
}
