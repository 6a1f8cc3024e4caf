package render

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/run"
)

// Table columns, in the order they are drawn: what a person reads the table for (how each
// step stands, and which step) first, and DETAIL last, where it takes the rest of the line.
const (
	colStatus = iota
	colStep
	colAction
	colAttempt
	colDuration
	colDetail
	numCols
)

var tableHeader = [numCols]string{"STATUS", "STEP", "ACTION", "ATTEMPT", "DURATION", "DETAIL"}

// How a table shares a terminal's width. ATTEMPT and DURATION are as wide as their
// headers (every value fits) and STATUS as its widest word, so they never change width.
// DETAIL is given detailWant columns before STEP gets its whole width, STEP being cut in the middle down to stepFloor; when DETAIL
// still gets fewer than detailMin, ACTION goes (an action's name is shown whole or not at
// all), then DETAIL; STATUS is never cut.
const (
	gapWidth   = 2
	detailWant = 24
	detailMin  = 12
	stepFloor  = 12
	idFloor    = 8
)

// shape is what a table's layout depends on, measured over all of a run's steps (their ids
// are known before the first frame), so that the columns keep their widths from one frame
// to the next whichever rows a frame shows.
type shape struct {
	status, step, action int // the widest cell of each column, its header included
	retried              bool
}

// measure is r's shape: one pass over its steps.
func measure(r *run.Run) shape {
	// "processing" is the widest word a step shows while a run goes
	sh := shape{status: 2 + len(run.StepProcessing), step: len(tableHeader[colStep]), action: len(tableHeader[colAction])}
	for i := range r.Steps {
		s := &r.Steps[i]
		sh.step = max(sh.step, lipgloss.Width(s.ID))
		sh.action = max(sh.action, lipgloss.Width(catalog.ShortName(s.Action)))
		sh.status = max(sh.status, 2+lipgloss.Width(statusWord(r, s)))
	}
	sh.retried = retried(r)
	return sh
}

// retried reports whether some step of r has had more than one attempt: only then does
// the table have an ATTEMPT column (remote runs never do; the server counts no attempts).
func retried(r *run.Run) bool {
	for i := range r.Steps {
		if r.Steps[i].Attempts > 1 {
			return true
		}
	}
	return false
}

// layout is which columns a table shows and the width of each; a DETAIL width of 0 means
// no limit.
type layout struct {
	cols  []int
	width [numCols]int
}

// layout fits the columns in width (0: no limit, every cell whole).
func (sh shape) layout(width int) layout {
	l := layout{width: [numCols]int{sh.status, sh.step, sh.action, len(tableHeader[colAttempt]), len(tableHeader[colDuration]), 0}}
	l.cols = []int{colStatus, colStep, colAction, colDuration, colDetail}
	if sh.retried {
		l.cols = []int{colStatus, colStep, colAction, colAttempt, colDuration, colDetail}
	}
	if width <= 0 {
		return l
	}
	// room is what STEP, ACTION and DETAIL share, those shown
	room := func() int {
		n := width - gapWidth*(len(l.cols)-1)
		for _, c := range l.cols {
			if c != colStep && c != colAction && c != colDetail {
				n -= l.width[c]
			}
		}
		return n
	}
	r := room()
	l.width[colStep] = min(sh.step, max(stepFloor, r-sh.action-detailWant))
	if l.width[colDetail] = r - l.width[colStep] - sh.action; l.width[colDetail] >= detailMin {
		return l
	}
	l.cols = slices.DeleteFunc(l.cols, func(c int) bool { return c == colAction })
	r = room()
	l.width[colStep] = min(sh.step, max(stepFloor, r-detailWant))
	if r-l.width[colStep] < detailMin {
		l.width[colStep] = min(sh.step, max(idFloor, r-detailMin))
	}
	if l.width[colDetail] = r - l.width[colStep]; l.width[colDetail] >= detailMin {
		return l
	}
	// a terminal too narrow for DETAIL (under 46 columns, 55 with ATTEMPT): STEP is cut further, ATTEMPT
	// and DURATION go if even idFloor does not fit, and STEP itself last
	l.cols = slices.DeleteFunc(l.cols, func(c int) bool { return c == colDetail })
	for _, c := range []int{colAttempt, colDuration, colStep} {
		if room() >= min(sh.step, idFloor) {
			break
		}
		l.cols = slices.DeleteFunc(l.cols, func(x int) bool { return x == c })
	}
	l.width[colStep] = max(min(sh.step, room()), 0)
	return l
}

// table renders the steps of r as lines laid out by l (STEP cut in the middle, DETAIL at
// its end). frame animates the running steps' spinners (-1: none).
func table(st *styles, r *run.Run, l layout, now time.Time, frame int, v view) []string {
	cell := func(s *run.Step, c int) string {
		switch c {
		case colStatus:
			return st.glyph(s.Status, notRun(r, s), frame) + " " + statusWord(r, s)
		case colStep:
			return truncateMiddle(s.ID, l.width[c])
		case colAction:
			return catalog.ShortName(s.Action)
		case colAttempt:
			if s.Attempts > 0 {
				return fmt.Sprint(s.Attempts)
			}
		case colDuration:
			if !s.StartedAt.IsZero() {
				return stepDurationText(s, now)
			}
		case colDetail:
			if d := v.detail(s, now); l.width[c] > 0 {
				return truncate(d, l.width[c])
			} else {
				return d
			}
		}
		return "-"
	}
	render := func(text func(c int) string, style func(c int, text string) string) string {
		var b strings.Builder
		for i, c := range l.cols {
			if i > 0 {
				b.WriteString(strings.Repeat(" ", gapWidth))
			}
			t := text(c)
			b.WriteString(style(c, t))
			if i < len(l.cols)-1 {
				b.WriteString(strings.Repeat(" ", max(l.width[c]-lipgloss.Width(t), 0)))
			}
		}
		return strings.TrimRight(b.String(), " ")
	}
	lines := make([]string, 0, len(r.Steps)+1)
	lines = append(lines, render(func(c int) string { return tableHeader[c] }, func(_ int, t string) string { return st.paint(st.bold, t) }))
	for i := range r.Steps {
		s := &r.Steps[i]
		lines = append(lines, render(func(c int) string { return cell(s, c) }, func(c int, t string) string {
			switch c {
			case colStatus:
				return st.paint(st.statusStyle(s.Status, notRun(r, s)), t)
			case colDetail:
				if s.Status == run.StepFailed {
					return st.paint(st.fail, t)
				}
				return st.paint(st.dim, t)
			}
			return t
		}))
	}
	return lines
}

// doneCount is how many of r's steps will change no more in this run.
func doneCount(r *run.Run) int {
	n := 0
	for i := range r.Steps {
		if r.Steps[i].Status.Terminal() {
			n++
		}
	}
	return n
}
