package render

import (
	"fmt"
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
	last    *run.Run
	since   time.Time // when Start was called: the age when the run has no created_at
	frame   int
	drawn   int // lines of the live block currently on screen
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
	p.last = r.Clone()
	p.since = p.opts.Clock()
	p.redraw()
	p.wg.Add(1)
	go p.ticker()
}

func (p *liveProgress) Event(_ run.Event, snap *run.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if snap != nil {
		p.last = snap
	}
	p.redraw()
}

func (p *liveProgress) Warn(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := p.warnLine(msg)
	if !p.started || p.stopped {
		p.write(p.io.ErrOut, line)
		return
	}
	p.clear()
	p.write(p.io.ErrOut, line)
	p.redraw()
}

// Stop ends the live redraw without a summary (Ctrl-C). It may be called more than once.
func (p *liveProgress) Stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	if p.started {
		close(p.quit)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *liveProgress) Finish(r *run.Run) error {
	p.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	if r == nil {
		r = p.last
	}
	p.clear()
	if r != nil {
		p.writeResult(r)
	}
	return p.err
}

// ticker is the one writer of the live block besides Event: it advances the spinner.
func (p *liveProgress) ticker() {
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
func (p *liveProgress) liveLines() []string {
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
	lines = append(lines, table(p.est, shown, w, now, p.frame, p.opts.ShowAttempts)...)
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
func (p *liveProgress) redraw() {
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

func (p *liveProgress) clearSeq() string {
	if p.drawn == 0 {
		return ""
	}
	return fmt.Sprintf("\r\x1b[%dA\x1b[J", p.drawn)
}

// clear erases the live block. Caller holds p.mu.
func (p *liveProgress) clear() {
	if s := p.clearSeq(); s != "" {
		p.write(p.io.ErrOut, s)
	}
	p.drawn = 0
}
