package render

import (
	"fmt"
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

// HumanDuration writes d as a person reads it: 850ms, 12.3s, 1m05s, 2h03m.
func HumanDuration(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
		fallthrough
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", float64(d.Truncate(100*time.Millisecond))/float64(time.Second))
	case d < time.Hour:
		d = d.Truncate(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	d = d.Truncate(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// spanDuration writes the time from start to end. The API's timestamps are whole seconds,
// so two in the same second read "<1s", not a misleading "0ms".
func spanDuration(start, end time.Time, d time.Duration) string {
	if d < time.Second && start.Nanosecond() == 0 && !end.IsZero() && end.Nanosecond() == 0 {
		return "<1s"
	}
	return HumanDuration(d)
}

// notRun reports whether a step will never run: still pending (or queued) in a finished run.
func notRun(r *run.Run, s *run.Step) bool {
	return r.Status.Terminal() && (s.Status == run.StepPending || s.Status == run.StepQueued)
}

// statusWord is the word in the STATUS column.
func statusWord(r *run.Run, s *run.Step) string {
	if notRun(r, s) {
		return "not run"
	}
	return string(s.Status)
}

// stepDetail is the DETAIL cell: the error, else the results a person wants, else the job.
func stepDetail(s *run.Step) string {
	if s.Error != "" {
		return oneLine(s.Error)
	}
	if s.Status == run.StepCompleted {
		if r := resultSummary(s.Result); r != "" {
			return r
		}
	}
	if s.JobID != "" {
		return "job " + s.JobID
	}
	return ""
}

// resultKeys are the results worth showing a person, in this order.
var resultKeys = []string{"brand_id", "image_url", "image_urls", "url", "exit_code", "status"}

func resultSummary(res map[string]any) string {
	var parts []string
	for _, k := range resultKeys {
		v, ok := res[k]
		if !ok || v == nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	return strings.Join(parts, " ")
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i] + " …"
	}
	return s
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

func pad(s string, w int) string {
	if n := lipgloss.Width(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// runDurationText is runDuration as the summary writes it.
func runDurationText(r *run.Run, now time.Time) string {
	d := runDuration(r, now)
	if d >= time.Second || !r.Status.Terminal() {
		return HumanDuration(d)
	}
	for i := range r.Steps {
		st := &r.Steps[i]
		if st.StartedAt.Nanosecond() != 0 || st.CompletedAt.Nanosecond() != 0 {
			return HumanDuration(d)
		}
	}
	return "<1s"
}

// runDuration is how long the run took by its steps' times: first start to last end.
func runDuration(r *run.Run, now time.Time) time.Duration {
	var first, last time.Time
	for i := range r.Steps {
		s := &r.Steps[i]
		if !s.StartedAt.IsZero() && (first.IsZero() || s.StartedAt.Before(first)) {
			first = s.StartedAt
		}
		end := s.CompletedAt
		if end.IsZero() && s.Status == run.StepProcessing {
			end = now
		}
		if end.After(last) {
			last = end
		}
	}
	if first.IsZero() && !r.CreatedAt.IsZero() {
		first = r.CreatedAt
	}
	if first.IsZero() || last.Before(first) {
		return 0
	}
	return last.Sub(first)
}

var tableHeader = []string{"STEP", "ACTION", "STATUS", "ATTEMPT", "DURATION", "DETAIL"}

// table renders the step table as lines no wider than width (0: no limit). frame animates
// the running steps' spinners.
func table(st *styles, r *run.Run, width int, now time.Time, frame int, attempts bool) []string {
	if width <= 0 {
		width = 1 << 30
	}
	rows := make([][]string, 0, len(r.Steps))
	for i := range r.Steps {
		s := &r.Steps[i]
		attempt := "-"
		if s.Attempts > 0 {
			attempt = fmt.Sprint(s.Attempts)
		}
		dur := "-"
		if !s.StartedAt.IsZero() {
			dur = spanDuration(s.StartedAt, s.CompletedAt, s.Duration(now))
		}
		nr := notRun(r, s)
		rows = append(rows, []string{
			s.ID, s.Action, st.glyph(s.Status, nr, frame) + " " + statusWord(r, s),
			attempt, dur, stepDetail(s),
		})
	}
	widths := make([]int, len(tableHeader))
	for c, h := range tableHeader {
		widths[c] = lipgloss.Width(h)
		for _, row := range rows {
			widths[c] = max(widths[c], lipgloss.Width(row[c]))
		}
	}
	const gap = "  "
	lines := make([]string, 0, len(rows)+1)
	render := func(cells []string, styleCell func(c int, text string) string) string {
		var b strings.Builder
		used := 0
		for c, text := range cells {
			if c > 0 {
				if used+len(gap) >= width {
					break
				}
				b.WriteString(gap)
				used += len(gap)
			}
			cw := widths[c]
			if c == len(cells)-1 {
				cw = lipgloss.Width(text)
			}
			text = truncate(text, min(cw, width-used))
			if c < len(cells)-1 {
				text = pad(text, min(cw, width-used))
			}
			used += lipgloss.Width(text)
			b.WriteString(styleCell(c, text))
			if used >= width {
				break
			}
		}
		return strings.TrimRight(b.String(), " ")
	}
	lines = append(lines, render(tableHeader, func(_ int, t string) string { return st.paint(st.bold, t) }))
	for i, row := range rows {
		s := &r.Steps[i]
		nr := notRun(r, s)
		lines = append(lines, render(row, func(c int, t string) string {
			switch c {
			case 2:
				return st.paint(st.statusStyle(s.Status, nr), t)
			case 5:
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
// in full.
func summary(st *styles, r *run.Run, now time.Time) []string {
	mark := "✓"
	switch r.Status {
	case run.Failed:
		mark = "✗"
	case run.Cancelled:
		mark = "○"
	case run.Completed:
	default:
		mark = "…"
	}
	counts := map[string]int{}
	for i := range r.Steps {
		counts[statusWord(r, &r.Steps[i])]++
	}
	lines := []string{st.paint(st.runStyle(r.Status), fmt.Sprintf("%s run %s %s in %s", mark, r.ID, r.Status, runDurationText(r, now))) +
		"  (" + countsText(counts) + ")"}
	var res [][3]string
	idW, keyW := 0, 0
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Status != run.StepCompleted {
			continue
		}
		for _, k := range resultKeys[:3] {
			if v, ok := s.Result[k]; ok && v != nil {
				res = append(res, [3]string{s.ID, k, fmt.Sprint(v)})
				idW, keyW = max(idW, lipgloss.Width(s.ID)), max(keyW, len(k))
			}
		}
	}
	var results []string
	for _, x := range res {
		results = append(results, "  "+pad(x[0], idW)+"  "+pad(x[1], keyW)+"  "+x[2])
	}
	if len(results) > 0 {
		lines = append(lines, "", "Results:")
		lines = append(lines, results...)
	}
	var errs []string
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Status == run.StepFailed && s.Error != "" {
			errs = append(errs, st.paint(st.fail, "  "+s.ID+": ")+indentRest(s.Error, "    "))
		}
	}
	if len(errs) > 0 {
		lines = append(lines, "", "Errors:")
		lines = append(lines, errs...)
	}
	return lines
}

func indentRest(s, indent string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+indent)
}

// eventLine is the plain one-line form of a transition.
func eventLine(e run.Event, now time.Time, attempts, job bool) string {
	t := e.Time
	if t.IsZero() {
		t = now
	}
	subject := e.StepID
	if subject == "" {
		subject = "run"
	}
	line := t.UTC().Format(time.RFC3339) + "  " + subject + "  " + e.Status
	if e.Attempt > 1 || (e.Attempt > 0 && (attempts || e.Status == string(run.StepFailed))) {
		line += fmt.Sprintf("  attempt %d", e.Attempt)
	}
	if e.RetryIn > 0 {
		line += "  retry in " + HumanDuration(e.RetryIn)
	}
	if job && e.JobID != "" {
		line += "  job " + e.JobID
	}
	switch {
	case e.Error == "":
	case e.Status == string(run.StepSkipped):
		line += "  (" + oneLine(e.Error) + ")"
	default:
		line += "  error: " + oneLine(e.Error)
	}
	return line
}

// ghEscape escapes a GitHub Actions workflow command value.
func ghEscape(s string) string {
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
