package render

import (
	"fmt"
	"github.com/pi-cli/pi/internal/safe"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/pi-cli/pi/internal/run"
)

// Format is an output format chosen with -o.
type Format string

// Output formats.
const (
	FormatTable Format = "table"
	FormatPlain Format = "plain"
	FormatJSON  Format = "json"
	FormatJSONL Format = "jsonl"
)

// ParseFormat reads an -o value; "" means table. The error names the accepted values, so
// the command can return it as a usage error as is.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FormatTable, nil
	case FormatTable, FormatPlain, FormatJSON, FormatJSONL:
		return f, nil
	}
	return "", fmt.Errorf("unknown output format %q (use table, plain, json or jsonl)", s)
}

// notRun reports whether a step will never run: still pending (or queued) in a finished run.
func notRun(r *run.Run, s *run.Step) bool {
	return ended(r) && (s.Status == run.StepPending || s.Status == run.StepQueued)
}

// statusWord is the word in the STATUS column.
func statusWord(r *run.Run, s *run.Step) string {
	if notRun(r, s) {
		return string(run.NotRun)
	}
	return string(s.Status)
}

// truncate cuts plain text to at most w columns, marking the cut with "…".
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		rw := lipgloss.Width(string(r))
		if n+rw > w-1 {
			break
		}
		b.WriteRune(r)
		n += rw
	}
	b.WriteString("…")
	return b.String()
}

// CutMiddle cuts plain text to at most w columns by taking out its middle (truncateMiddle):
// for a cell of a table fitted to the terminal.
func CutMiddle(s string, w int) string { return truncateMiddle(s, w) }

// truncateMiddle cuts plain text to at most w columns by taking out its middle, marked
// with "…": step ids that share a prefix (a matrix's expansions, localize-french-urban-
// premium and localize-german-minimalist) keep the ends that tell them apart.
func truncateMiddle(s string, w int) string {
	if w < 5 || lipgloss.Width(s) <= w {
		return truncate(s, w)
	}
	runes := []rune(s)
	var head []rune
	n := 0
	for _, r := range runes {
		rw := lipgloss.Width(string(r))
		if n+rw > (w-1)/3 {
			break
		}
		head = append(head, r)
		n += rw
	}
	start, m := len(runes), 0
	for start > len(head) {
		rw := lipgloss.Width(string(runes[start-1]))
		if n+1+m+rw > w {
			break
		}
		start--
		m += rw
	}
	return string(head) + "…" + string(runes[start:])
}

func pad(s string, w int) string {
	if n := lipgloss.Width(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// countsText writes step counts by status word, in alphabetical order: "2 completed, 1 failed".
func countsText(counts map[string]int) string {
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	sort.Strings(words)
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = fmt.Sprintf("%d %s", counts[w], w)
	}
	return strings.Join(parts, ", ")
}

// summary is what a person wants after the table: outcome, duration, results, every error
// in full. On a terminal width columns wide (0: no limit) a line that would wrap is laid
// out on two instead: nothing is cut, the values are what a person copies.
func summary(st *styles, r *run.Run, now time.Time, width int) []string {
	fits := func(s string) bool { return width <= 0 || lipgloss.Width(s) <= width }
	mark := "✓"
	switch r.Status {
	case run.Failed:
		mark = "✗"
	case run.Cancelled, RunInterrupted:
		mark = "○"
	case run.Completed:
	default:
		mark = "…"
	}
	counts := map[string]int{}
	for i := range r.Steps {
		counts[statusWord(r, &r.Steps[i])]++
	}
	head := fmt.Sprintf("%s run %s %s in %s", mark, r.ID, r.Status, RunDurationText(r, now))
	tail := "(" + countsText(counts) + ")"
	lines := []string{st.paint(st.runStyle(r.Status), head) + "  " + tail}
	if !fits(head + "  " + tail) {
		lines = []string{st.paint(st.runStyle(r.Status), head), "  " + tail}
	}
	var res [][3]string
	idW, keyW := 0, 0
	for i := range r.Steps {
		s := &r.Steps[i]
		if !s.Status.Succeeded() {
			continue
		}
		for _, kv := range resultLines(s) {
			res = append(res, [3]string{s.ID, kv[0], kv[1]})
			idW, keyW = max(idW, lipgloss.Width(s.ID)), max(keyW, len(kv[0]))
		}
	}
	var results []string
	for _, x := range res {
		line := "  " + pad(x[0], idW) + "  " + pad(x[1], keyW) + "  " + x[2]
		if !fits(line) {
			line = "  " + x[0] + "  " + x[1] + "\n    " + x[2]
		}
		results = append(results, line)
	}
	if len(results) > 0 {
		lines = append(lines, "", "Results:")
		lines = append(lines, results...)
	}
	var errs []string
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Status == run.StepFailed && s.Error != "" {
			// The first line: an error_log may be a stack trace (-o json has all of it).
			errs = append(errs, st.paint(st.fail, "  "+s.ID+": ")+cellSafe(StepErrorText(s), false))
			if body := bodyExcerpt(s.Result, 400); body != "" {
				errs = append(errs, "    response: "+body)
			}
		}
	}
	if len(errs) > 0 {
		lines = append(lines, "", "Errors:")
		lines = append(lines, errs...)
	}
	return lines
}

// eventLine is the plain one-line form of a transition. The run's own lines name it
// ("run <id> failed"), so a step called run cannot be mistaken for it.
func eventLine(e run.Event, now time.Time, attempts, job bool, maxAttempts int) string {
	t := e.Time
	if t.IsZero() {
		t = now
	}
	subject := e.StepID
	if subject == "" {
		subject = "run " + e.RunID
	}
	ts := t.UTC().Format(time.RFC3339) + "  " + subject + "  "
	if e.RetryIn > 0 {
		// the attempt failed and another comes: what happens next, then why
		return ts + retryText(e.Attempt+1, maxAttempts, Duration(e.RetryIn, true), e.Error)
	}
	line := ts + e.Status
	if e.Attempt > 1 || (e.Attempt > 0 && (attempts || e.Status == string(run.StepFailed))) {
		line += fmt.Sprintf("  attempt %d", e.Attempt)
	}
	if job && e.JobID != "" {
		line += "  job " + e.JobID
	}
	switch {
	case e.Error == "":
	case e.Status == string(run.StepSkipped):
		line += "  (" + cellSafe(e.Error, false) + ")"
	default:
		line += "  error: " + cellSafe(e.Error, false)
	}
	return line
}

// ghEscape escapes a GitHub Actions workflow command value.
func ghEscape(s string) string {
	s = safe.Lines(s) // then LF, and CR (escaped already), go as GitHub wants them
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// ghEscapeProp also escapes the characters that end a property.
func ghEscapeProp(s string) string {
	s = ghEscape(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}

// visibleWidth is the width of s on screen, ANSI sequences excluded.
func visibleWidth(s string) int { return lipgloss.Width(s) }
