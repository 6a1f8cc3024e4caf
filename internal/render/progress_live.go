package render

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// liveProgress redraws a block (a header line and the step table) on stderr, a terminal,
// and writes the final table on stdout at the end.
type liveProgress struct {
	*base
	last  *run.Run
	owned bool      // last is this Progress's own copy (not a caller's snapshot)
	since time.Time // when Start was called: the age when the run has no created_at
	frame int
	// shape is the table's shape, measured once for the run of shapeOf (its id and number
	// of steps): the steps' ids do not change while it goes, so neither do the columns.
	shape   shape
	shapeOf [2]any
	// retryAt: the steps waiting for their next attempt, and until when
	retryAt map[string]time.Time
	// drawn are the lines of the live block on screen, drawnAt the terminal's width then:
	// after a resize the terminal rewraps them, and the block is found again by counting
	// the physical rows they take at the new width.
	drawn   []string
	drawnAt int
	started bool
	stopped bool

	quit chan struct{}
	wg   sync.WaitGroup
}

func newLiveProgress(b *base) *liveProgress {
	return &liveProgress{base: b, quit: make(chan struct{})}
}

func (p *liveProgress) Start(r *run.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.stopped {
		return
	}
	p.started = true
	p.last, p.owned = r.Clone(), true
	p.since = p.opts.Clock.Now()
	// from now on ErrLog lines come through p.above, under p.mu, as the frames do
	p.io.setAbove(p.above)
	p.write(p.io.ErrOut, hideCursor)
	p.io.setCursorHidden(true)
	p.redraw(nil)
	p.wg.Add(1)
	go p.ticker()
}

// minLiveRows is the size of run that the live block redraws at every event even when the
// terminal's height is unknown; a bigger run that does not fit is redrawn at each tick only.
const minLiveRows = 24

func (p *liveProgress) Event(e run.Event, snap *run.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if e.StepID != "" {
		if e.RetryIn > 0 {
			at := e.Time
			if at.IsZero() {
				at = p.opts.Clock.Now()
			}
			if p.retryAt == nil {
				p.retryAt = map[string]time.Time{}
			}
			p.retryAt[e.StepID] = at.Add(e.RetryIn)
		} else {
			delete(p.retryAt, e.StepID)
		}
	}
	switch {
	case snap != nil:
		p.last, p.owned = snap, false
	case p.last != nil:
		if !p.owned {
			p.last, p.owned = p.last.Clone(), true
		}
		p.last.Apply(e)
	}
	// A run that does not fit the terminal is redrawn by the ticker alone: choosing its
	// rows scans the run, which per event would make a big run quadratic.
	if p.last == nil || len(p.last.Steps)+3 <= max(p.io.Height(), minLiveRows) {
		p.redraw(nil)
	}
}

func (p *liveProgress) Warn(msg string) {
	p.above(p.warnLine(msg))
}

// above prints text (whole lines) above the live block, where it stays; the block is
// drawn again under it.
func (p *liveProgress) above(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started || p.stopped {
		p.write(p.io.ErrOut, text)
		return
	}
	p.redraw(strings.Split(strings.TrimSuffix(text, "\n"), "\n"))
}

// Stop ends the live redraw without a summary (Ctrl-C, --timeout, an error): the block is
// drawn once more, as it is now and without spinners, the cursor comes back, and the
// cursor's line is left empty for the message that follows. It may be called more than
// once.
func (p *liveProgress) Stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	if !p.started {
		p.mu.Unlock()
		return
	}
	close(p.quit)
	p.mu.Unlock()
	p.wg.Wait()
	p.io.setAbove(nil)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frame = -1
	p.redraw(nil)
	p.drawn = nil // it stays on screen
	p.write(p.io.ErrOut, showCursor)
	p.io.setCursorHidden(false)
}

func (p *liveProgress) Finish(r *run.Run) error {
	p.mu.Lock()
	started := p.started && !p.stopped
	p.stopped = true
	p.mu.Unlock()
	if started {
		close(p.quit)
		p.wg.Wait()
		p.io.setAbove(nil)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if r == nil {
		r = p.last
	}
	if started {
		p.clear()
		p.write(p.io.ErrOut, showCursor)
		p.io.setCursorHidden(false)
	}
	if r != nil {
		p.writeResult(r)
	}
	return p.err
}

// ticker is the one writer of the live block besides Event: it advances the spinner and
// the elapsed time, on the Progress's clock.
func (p *liveProgress) ticker() {
	defer p.wg.Done()
	for {
		select {
		case <-p.quit:
			return
		case <-p.opts.Clock.After(p.opts.Tick):
			p.mu.Lock()
			if !p.stopped {
				p.frame++
				p.redraw(nil)
			}
			p.mu.Unlock()
		}
	}
}

func (p *liveProgress) viewNow() view {
	v := p.view()
	v.retryAt = p.retryAt
	return v
}

// liveLines is the live block: a header and the table, each line narrower than the
// terminal so nothing wraps (a wrapped line would break the cursor arithmetic).
func (p *liveProgress) liveLines() []string {
	r := p.last
	now := p.opts.Clock.Now()
	w := p.io.Width() - 1
	if w <= 0 {
		w = 79
	}
	if key := [2]any{r.ID, len(r.Steps)}; key != p.shapeOf {
		p.shape, p.shapeOf = measure(r), key
	} else if !p.shape.retried {
		p.shape.retried = retried(r) // the ATTEMPT column comes with the first retry, and stays
	}
	lines := []string{p.header(r, now, w)}
	shown, more := fitRows(r, p.io.Height()-2) // the header line and one spare line
	lines = append(lines, table(p.est, shown, p.shape.layout(w), now, p.frame, p.viewNow())...)
	if more != "" {
		lines = append(lines, truncate(more, w))
	}
	return lines
}

// header is the live block's first line: the run, its status, how many steps are done and
// how long it has been going, "run f027a242-…  in_progress  3/5 done · 12s", at most w wide.
func (p *liveProgress) header(r *run.Run, now time.Time, w int) string {
	// the age counts from the run's creation (the server's created_at for a remote run),
	// not from when pi began to follow it
	age := now.Sub(p.since)
	if !r.CreatedAt.IsZero() {
		age, _ = RunDuration(r, now)
	}
	status := p.est.paint(p.est.runStyle(r.Status), string(r.Status))
	done := fmt.Sprintf("%d/%d done · %s", doneCount(r), len(r.Steps), elapsedText(age))
	head := fmt.Sprintf("run %s  %s  %s", r.ID, status, done)
	if visibleWidth(head) > w {
		// a narrow terminal: the id shortened, never the status or the count
		head = fmt.Sprintf("run %s  %s  %s", short(r.ID, 9), status, done)
	}
	if visibleWidth(head) > w {
		return truncate(fmt.Sprintf("%s  %s", r.Status, done), w)
	}
	return head
}

// fitRows keeps the table within room lines (its header included) so the live block never
// scrolls (a scrolled block cannot be redrawn in place): the steps being worked on, the
// failed ones, then those still to come, in file order, and a line that counts the rest.
// room <= 0 means no limit. One pass over the steps, copying only the rows kept, so a
// redraw of a run of 100,000 steps costs a scan, not a sort and a copy of the run.
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
	// The first rows steps of each rank, in file order; then the best ranks fill the rows.
	var byRank [5][]int
	for i := range r.Steps {
		k := rank(&r.Steps[i])
		if len(byRank[k]) < rows {
			byRank[k] = append(byRank[k], i)
		}
	}
	keep := make([]int, 0, rows)
	for k := range byRank {
		n := min(len(byRank[k]), rows-len(keep))
		keep = append(keep, byRank[k][:n]...)
	}
	sort.Ints(keep)
	cut := *r
	cut.Steps = make([]run.Step, 0, len(keep))
	hidden := map[string]int{}
	next := 0
	for i := range r.Steps {
		if next < len(keep) && keep[next] == i {
			cut.Steps = append(cut.Steps, r.Steps[i])
			next++
			continue
		}
		hidden[statusWord(r, &r.Steps[i])]++
	}
	return &cut, fmt.Sprintf("… %d more steps (%s)", len(r.Steps)-len(keep), countsText(hidden))
}

// Terminal control sequences of the live block.
const (
	hideCursor = "\x1b[?25l"
	showCursor = "\x1b[?25h"
	// Synchronized output (DEC private mode 2026): a terminal that supports it shows each
	// frame whole; the others ignore the unknown mode.
	syncBegin = "\x1b[?2026h"
	syncEnd   = "\x1b[?2026l"
	eraseLine = "\x1b[K"  // to the end of the line
	blankLine = "\x1b[2K" // the whole line
)

// narrowTerminal is a width under which the table may not fit (STATUS is never cut).
const narrowTerminal = 40

// rowsOnScreen is how many terminal rows the drawn block takes at width w now: a line
// wider than w (the window shrank) was rewrapped onto several.
func (p *liveProgress) rowsOnScreen(w int) int {
	if w <= 0 || w >= p.drawnAt {
		return len(p.drawn) // each line was drawn narrower than the terminal: one row
	}
	n := 0
	for _, l := range p.drawn {
		if lw := visibleWidth(l); lw > w {
			n += (lw + w - 1) / w
		} else {
			n++
		}
	}
	return n
}

// toTop moves the cursor to the first column of the block's first row.
func (p *liveProgress) toTop(b *strings.Builder) int {
	up := p.rowsOnScreen(p.io.Width())
	b.WriteString("\r")
	if up > 0 {
		fmt.Fprintf(b, "\x1b[%dA", up)
	}
	return up
}

// redraw replaces the live block with the current state, with keep (lines that stay on
// screen: warnings, --debug traces) written first, above it. It only overwrites the rows
// of the old block and never erases the screen: an erase from the top row makes some
// terminals (tmux) push the whole screen into the scrollback at every frame. Caller holds
// p.mu.
func (p *liveProgress) redraw(keep []string) {
	if p.last == nil {
		return
	}
	var b strings.Builder
	b.WriteString(syncBegin)
	old := p.toTop(&b)
	for _, l := range keep {
		b.WriteString(l + eraseLine + "\n")
	}
	lines := p.liveLines()
	for _, l := range lines {
		b.WriteString(l + eraseLine + "\n")
	}
	p.drawn, p.drawnAt = lines, p.io.Width()
	if p.drawnAt < narrowTerminal {
		// so narrow that a line may not fit even now: always count the rows it takes
		p.drawnAt = math.MaxInt
	}
	// rows of the old block below the new one (it had more rows, or rewrapped ones)
	if extra := old - len(keep) - len(lines); extra > 0 {
		b.WriteString(strings.Repeat(blankLine+"\n", extra))
		fmt.Fprintf(&b, "\x1b[%dA", extra)
	}
	// the cursor's row, under the block: an echoed ^C lands there
	b.WriteString(eraseLine + syncEnd)
	p.write(p.io.ErrOut, b.String())
}

// clear blanks the rows of the live block and leaves the cursor where it began. Caller
// holds p.mu.
func (p *liveProgress) clear() {
	var b strings.Builder
	b.WriteString(syncBegin)
	if n := p.toTop(&b); n > 0 {
		// the block's rows and the cursor's row under it (where an echoed ^C is)
		b.WriteString(strings.Repeat(blankLine+"\n", n) + blankLine)
		fmt.Fprintf(&b, "\x1b[%dA", n)
	}
	b.WriteString(eraseLine + syncEnd)
	p.write(p.io.ErrOut, b.String())
	p.drawn = nil
}
