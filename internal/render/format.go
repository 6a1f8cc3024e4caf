package render

import (
	"fmt"
	"github.com/pi-cli/pi/internal/safe"
	"slices"
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

// Table columns. STATUS, ATTEMPT and DURATION are never cut: they are short and they are
// what a person reads the table for.
const (
	colStep = iota
	colAction
	colStatus
	colAttempt
	colDuration
	colDetail
)

var tableHeader = []string{"STEP", "ACTION", "STATUS", "ATTEMPT", "DURATION", "DETAIL"}

// Floors of the columns that shrink: below detailMin DETAIL is dropped; STEP and ACTION
// keep at least nameMin columns (then idMin, as a last resort) with "…".
const (
	detailMin = 8
	nameMin   = 10
	idMin     = 4
)

// table renders the step table as lines no wider than width (0: no limit). frame animates
// the running steps' spinners. attempts adds the ATTEMPT column (local runs; the server
// does not count attempts). When the table is too wide, DETAIL shrinks first, then STEP,
// then ACTION, each cut with "…"; STATUS is never dropped or cut.
func table(st *styles, r *run.Run, width int, now time.Time, frame int, v view) []string {
	rows := make([][]string, 0, len(r.Steps))
	for i := range r.Steps {
		s := &r.Steps[i]
		attempt := "-"
		if s.Attempts > 0 {
			attempt = fmt.Sprint(s.Attempts)
		}
		dur := "-"
		if !s.StartedAt.IsZero() {
			dur = stepDurationText(s, now)
		}
		nr := notRun(r, s)
		rows = append(rows, []string{
			s.ID, s.Action, st.glyph(s.Status, nr, frame) + " " + statusWord(r, s),
			attempt, dur, v.detail(s, now),
		})
	}
	cols := []int{colStep, colAction, colStatus, colDuration, colDetail}
	if v.attempts {
		cols = []int{colStep, colAction, colStatus, colAttempt, colDuration, colDetail}
	}
	widths := make([]int, len(tableHeader))
	for _, c := range cols {
		widths[c] = lipgloss.Width(tableHeader[c])
		for _, row := range rows {
			widths[c] = max(widths[c], lipgloss.Width(row[c]))
		}
	}
	if width > 0 {
		cols = fitColumns(cols, widths, width)
	}
	const gap = "  "
	render := func(cells []string, styleCell func(c int, text string) string) string {
		var b strings.Builder
		for i, c := range cols {
			if i > 0 {
				b.WriteString(gap)
			}
			text := truncate(cells[c], widths[c])
			if c == colStep {
				text = truncateMiddle(cells[c], widths[c])
			}
			styled := styleCell(c, text)
			if i < len(cols)-1 {
				styled += strings.Repeat(" ", max(widths[c]-lipgloss.Width(text), 0))
			}
			b.WriteString(styled)
		}
		return strings.TrimRight(b.String(), " ")
	}
	lines := make([]string, 0, len(rows)+1)
	lines = append(lines, render(tableHeader, func(_ int, t string) string { return st.paint(st.bold, t) }))
	for i, row := range rows {
		s := &r.Steps[i]
		nr := notRun(r, s)
		lines = append(lines, render(row, func(c int, t string) string {
			switch c {
			case colStatus:
				return st.paint(st.statusStyle(s.Status, nr), t)
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

// fitColumns shrinks widths (in place) until the columns fit in width, and returns the
// columns left: DETAIL down to detailMin, then STEP and ACTION down to nameMin, then
// DETAIL is dropped, then STEP and ACTION go down to idMin. What still does not fit
// goes column by column, STATUS last of all.
func fitColumns(cols []int, widths []int, width int) []int {
	total := func() int {
		n := 2 * (len(cols) - 1)
		for _, c := range cols {
			n += widths[c]
		}
		return n
	}
	shrink := func(c, floor int) {
		if over := total() - width; over > 0 && widths[c] > floor {
			widths[c] = max(widths[c]-over, floor)
		}
	}
	shrink(colDetail, detailMin)
	shrink(colStep, nameMin)
	shrink(colAction, nameMin)
	if total() > width {
		cols = cols[:len(cols)-1] // DETAIL, always last
	} else {
		return cols
	}
	shrink(colStep, idMin)
	shrink(colAction, idMin)
	// a terminal narrower than ~35 columns: ACTION, then ATTEMPT and DURATION go, STATUS stays
	for _, c := range []int{colAction, colAttempt, colDuration} {
		if total() <= width {
			break
		}
		cols = slices.DeleteFunc(cols, func(x int) bool { return x == c })
	}
	return cols
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
