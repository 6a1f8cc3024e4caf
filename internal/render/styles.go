package render

import (
	"io"
	"strconv"
	"strings"

	"github.com/briandowns/spinner"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/pi-cli/pi/internal/run"
)

// spinnerFrames are the frames drawn on running steps; the redraw ticker advances them, so
// no spinner goroutine writes to the terminal on its own.
var spinnerFrames = spinner.CharSets[14]

// styles holds every colour and glyph the renderer uses. With colour off every style is
// the identity, so the same code path writes plain text.
type styles struct {
	color                              bool
	ok, fail, running, dim, warn, bold lipgloss.Style
}

// newStyles builds the styles for w. The colour profile and the background are set, never
// detected: detection would query the terminal (reading stdin) and make goldens unstable.
// The background is dark unless COLORFGBG (set by rxvt, Konsole, iTerm2 and others) says
// light, so a light terminal gets the darker colours.
func newStyles(w io.Writer, color bool, getenv func(string) string) *styles {
	r := lipgloss.NewRenderer(w)
	r.SetHasDarkBackground(darkBackground(getenv))
	if color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	s := &styles{color: color}
	s.ok = r.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "28", Dark: "42"})
	s.fail = r.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "160", Dark: "203"})
	s.running = r.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "25", Dark: "75"})
	s.dim = r.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "245", Dark: "243"})
	s.warn = r.NewStyle().Foreground(lipgloss.AdaptiveColor{Light: "130", Dark: "214"})
	s.bold = r.NewStyle().Bold(true)
	return s
}

// glyph is the status mark of a step; frame is the spinner frame for running steps.
func (s *styles) glyph(st run.StepStatus, notRun bool, frame int) string {
	switch {
	case notRun:
		return "-"
	case st == run.StepCompleted:
		return "✓"
	case st == run.StepReused:
		return "↺"
	case st == run.StepFailed:
		return "✗"
	case st == run.StepSkipped, st == run.StepCancelled, st == StepInterrupted:
		return "○"
	case st == run.StepProcessing && frame < 0:
		return "▸"
	case st == run.StepProcessing:
		return spinnerFrames[frame%len(spinnerFrames)]
	case st == run.StepQueued:
		return "…"
	}
	return "·"
}

// statusStyle is the style of a step's status cell.
func (s *styles) statusStyle(st run.StepStatus, notRun bool) lipgloss.Style {
	switch {
	case notRun:
		return s.dim
	case st == run.StepCompleted, st == run.StepReused:
		return s.ok
	case st == run.StepFailed:
		return s.fail
	case st == run.StepProcessing, st == run.StepQueued:
		return s.running
	case st == run.StepSkipped, st == run.StepCancelled, st == StepInterrupted:
		return s.warn
	}
	return s.dim
}

// runStyle is the style of a run status.
func (s *styles) runStyle(st run.Status) lipgloss.Style {
	switch st {
	case run.Completed:
		return s.ok
	case run.Failed:
		return s.fail
	case run.Cancelled, RunInterrupted:
		return s.warn
	}
	return s.running
}

// paint applies st only when colour is on (a no-colour renderer already strips it; this
// also skips the work).
func (s *styles) paint(st lipgloss.Style, text string) string {
	if !s.color || text == "" {
		return text
	}
	return st.Render(text)
}

// darkBackground reads COLORFGBG ("fg;bg" or "fg;default;bg", ANSI colour numbers): a
// background of 7 (white) or 9-15 (bright colours) is light; anything else, or nothing, is
// taken as dark.
func darkBackground(getenv func(string) string) bool {
	if getenv == nil {
		return true
	}
	parts := strings.Split(getenv("COLORFGBG"), ";")
	bg, err := strconv.Atoi(parts[len(parts)-1])
	if err != nil {
		return true
	}
	return !(bg == 7 || bg >= 9 && bg <= 15)
}
