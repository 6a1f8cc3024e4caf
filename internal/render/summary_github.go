package render

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/filelock"
	"github.com/pi-cli/pi/internal/run"
)

// summaryEnv names the file GitHub Actions shows as the job's summary page.
const summaryEnv = "GITHUB_STEP_SUMMARY"

// summaryLockWait bounds the wait for another writer of the job summary (a section is a
// write of at most 1 MiB).
const summaryLockWait = 5 * time.Second

// jobSummary decorates a Progress that asked for it (Options.JobSummary: pi run, runs get
// --wait) when GITHUB_STEP_SUMMARY is set: when the run ends (or pi stops following it)
// a Markdown section is appended to that file: the run and its outcome, a table of the
// steps, the images as thumbnails and the errors in full.
func jobSummary(ios *IOStreams, opts Options, inner Progress, _ bool) Progress {
	path := ios.Getenv(summaryEnv)
	if !opts.JobSummary || path == "" {
		return inner
	}
	return &summaryProgress{Progress: inner, ios: ios, path: path, clock: opts.Clock}
}

type summaryProgress struct {
	Progress
	ios   *IOStreams
	path  string
	clock clock.Clock

	mu      sync.Mutex
	last    *run.Run
	written bool
}

func (s *summaryProgress) remember(r *run.Run) {
	if r == nil {
		return
	}
	s.mu.Lock()
	s.last = r
	s.mu.Unlock()
}

func (s *summaryProgress) Start(r *run.Run) {
	s.remember(r)
	s.Progress.Start(r)
}

func (s *summaryProgress) Event(e run.Event, snap *run.Run) {
	s.remember(snap)
	s.Progress.Event(e, snap)
}

func (s *summaryProgress) Finish(r *run.Run) error {
	err := s.Progress.Finish(r)
	s.remember(r)
	s.write(false)
	return err
}

// Stop without Finish: pi stopped following (timeout, Ctrl-C, an error); the summary says
// where the run was.
func (s *summaryProgress) Stop() {
	s.Progress.Stop()
	s.write(true)
}

func (s *summaryProgress) write(stopped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written || s.last == nil {
		return
	}
	s.written = true
	if err := appendSummary(s.path, s.last, s.clock.Now(), stopped); err != nil {
		fmt.Fprintf(s.ios.ErrOut, "warning: could not write the GitHub job summary: %v\n", err)
	}
}

// appendSummary appends r's section to the summary file at path, in the room the file
// has left: GitHub drops the whole file past MaxSummary.
func appendSummary(path string, r *run.Run, now time.Time, stopped bool) error {
	return appendSection(path, func(room int) string { return summaryMarkdown(r, now, stopped, room) })
}

// SummaryTable is a section of the GitHub job summary that is not one run: a title, a line
// of text and a table (a batch's rows, one run each). Every cell is escaped as a run's are.
type SummaryTable struct {
	Title, Text string
	Header      []string
	Rows        [][]string
}

// AppendSummaryTable appends t to the GitHub job summary when GITHUB_STEP_SUMMARY is set, in
// the room the file has left: the rows that do not fit are left out, and a line says so.
func AppendSummaryTable(ios *IOStreams, t SummaryTable) error {
	path := ios.Getenv(summaryEnv)
	if path == "" {
		return nil
	}
	return appendSection(path, t.markdown)
}

func (t SummaryTable) markdown(budget int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", mdText(t.Title))
	if t.Text != "" {
		fmt.Fprintf(&b, "%s\n\n", mdText(t.Text))
	}
	row := func(cells []string) string {
		var r strings.Builder
		for _, c := range cells {
			r.WriteString("| " + mdText(c) + " ")
		}
		return r.String() + "|\n"
	}
	b.WriteString(row(t.Header))
	b.WriteString(strings.Repeat("| --- ", len(t.Header)) + "|\n")
	for i, cells := range t.Rows {
		line := row(cells)
		if b.Len()+len(line) > budget-summarySlack {
			fmt.Fprintf(&b, "\n%d more rows not shown (a GitHub job summary holds at most 1 MiB).\n", len(t.Rows)-i)
			break
		}
		b.WriteString(line)
	}
	return b.String() + "\n"
}

// appendSection appends the section section makes, in the room it is given, to the summary
// file at path: GitHub drops the whole file past MaxSummary.
// Under the file's lock: the rows of a batch (and two pi of one job) each measure the room
// left and append, which without it could pass MaxSummary together.
func appendSection(path string, section func(room int) string) error {
	unlock, err := filelock.Wait(context.Background(), path, 0o644, summaryLockWait)
	if err != nil {
		return err
	}
	defer unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	var held int64
	if st, err := f.Stat(); err == nil {
		held = st.Size()
	}
	room := MaxSummary - int(min(held, MaxSummary))
	if room < minSummarySection {
		f.Close()
		return fmt.Errorf("%s already holds %d bytes, and GitHub shows a summary of at most %d: pi's section is not added", path, held, MaxSummary)
	}
	_, err = f.WriteString(section(room))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// statusIcon is a step's or run's status as the summary shows it.
func statusIcon(word string) string {
	switch run.StepStatus(word) {
	case run.StepCompleted:
		return "✅ " + word
	case run.StepFailed:
		return "❌ " + word
	case run.StepReused:
		return "♻️ " + word
	case run.StepSkipped:
		return "⏭️ " + word
	case run.StepCancelled:
		return "🚫 " + word
	case run.NotRun:
		return "⚪ " + word
	case run.StepProcessing, run.StepStatus(run.InProgress):
		return "⏳ " + word
	}
	return "🕓 " + word
}

// MaxSummary is the most a step's summary file may hold: GitHub drops a bigger one whole
// (not only what is past the limit), so pi's section is cut to fit what the file holds.
const MaxSummary = 1 << 20

// Bounds inside the summary: a Detail cell, and the least worth showing of one error.
const (
	maxSummaryDetail = 300
	minSummaryError  = 512
	summarySlack     = 2 << 10 // the notes that say what was left out
	// minSummarySection is the least room worth writing a section into.
	minSummarySection = 8 << 10
)

// summaryMarkdown is the job summary section of a run, in at most budget bytes (pi's is
// MaxSummary). stopped says pi stopped following it before it ended. Everything a server
// or a file said is escaped: it can neither break the table nor inject HTML. The errors
// get up to a third of it and the images an eighth, the table the rest; rows, images and
// errors that do not fit are left out or clipped, and a line says so.
func summaryMarkdown(r *run.Run, now time.Time, stopped bool, budget int) string {
	var b strings.Builder
	outcome := string(r.Status)
	if stopped && !r.Status.Terminal() {
		outcome += " (pi stopped following it)"
	}
	fmt.Fprintf(&b, "### %s Run %s: %s\n\n", strings.Fields(statusIcon(string(r.Status)))[0], mdText(r.ID), mdText(outcome))
	counts := map[string]int{}
	for i := range r.Steps {
		counts[statusWord(r, &r.Steps[i])]++
	}
	fmt.Fprintf(&b, "Took %s · %s\n\n", mdText(RunDurationText(r, now)), mdText(countsText(counts)))
	b.WriteString("| Step | Action | Status | Duration | Detail |\n| --- | --- | --- | --- | --- |\n")

	errs := summaryErrors(r, budget)
	imgs := summaryImages(r)
	reserveErr := min(errorsLen(errs), budget/3)
	reserveImg := min(stringsLen(imgs), budget/8)
	tableEnd := budget - reserveErr - reserveImg - summarySlack
	for i := range r.Steps {
		row := summaryRow(r, &r.Steps[i], now)
		if b.Len()+len(row) > tableEnd {
			fmt.Fprintf(&b, "\n%d more steps not shown (a GitHub job summary holds at most 1 MiB): `pi runs get %s` lists them all.\n", len(r.Steps)-i, mdText(r.ID))
			break
		}
		b.WriteString(row)
	}
	if len(imgs) > 0 {
		b.WriteString("\n#### Images\n\n")
		imgEnd := budget - reserveErr - summarySlack
		for i, img := range imgs {
			if b.Len()+len(img)+1 > imgEnd {
				fmt.Fprintf(&b, "\n%d more images not shown.", len(imgs)-i)
				break
			}
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString(img)
		}
		b.WriteString("\n")
	}
	if len(errs) > 0 {
		b.WriteString("\n#### Errors\n")
		writeSummaryErrors(&b, r, errs, budget-b.Len()-summarySlack/2)
	}
	b.WriteString("\n")
	return b.String()
}

// summaryRow is one step's row of the table.
func summaryRow(r *run.Run, s *run.Step, now time.Time) string {
	dur := "-"
	if !s.StartedAt.IsZero() {
		dur = stepDurationText(s, now)
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s |\n", mdText(s.ID), mdText(s.Action),
		statusIcon(statusWord(r, s)), mdText(dur), summaryDetail(s))
}

// summaryImages are the thumbnails of the steps' images.
func summaryImages(r *run.Run) []string {
	var imgs []string
	for i := range r.Steps {
		s := &r.Steps[i]
		if u := safeURL(catalog.ResultRole(s.Action, s.Result, catalog.RoleImage)); u != "" && s.Status.Succeeded() {
			a := html.EscapeString(u)
			imgs = append(imgs, fmt.Sprintf(`<a href="%s"><img src="%s" width="240" alt="%s" title="%s"></a>`,
				a, a, html.EscapeString(s.ID), html.EscapeString(s.ID)))
		}
	}
	return imgs
}

// summaryError is a failed step's error, HTML-escaped, and how many bytes of it were cut
// already (nothing past the whole budget can be shown).
type summaryError struct {
	step    *run.Step
	text    string
	dropped int
}

func summaryErrors(r *run.Run, budget int) []summaryError {
	var out []summaryError
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Status != run.StepFailed || s.Error == "" {
			continue
		}
		raw := strings.TrimRight(stripControls(StepErrorText(s)), "\n")
		dropped := 0
		if len(raw) > budget { // escaping only lengthens it
			dropped = len(raw) - budget
			raw = raw[:budget]
		}
		out = append(out, summaryError{step: s, text: html.EscapeString(raw), dropped: dropped})
	}
	return out
}

// errorsLen is what errs take in the summary, about.
func errorsLen(errs []summaryError) int {
	n := 0
	for _, e := range errs {
		n += len(e.text) + 64
	}
	return n
}

func stringsLen(xs []string) int {
	n := 0
	for _, x := range xs {
		n += len(x) + 1
	}
	return n
}

// clipRunes cuts s to n characters, ending with … when it cut.
func clipRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k] + "…"
		}
		i++
	}
	return s
}

// writeSummaryErrors writes the errors in room bytes: each gets an equal share of what the
// shorter ones leave, and is clipped to it (saying by how much); when a share would be too
// small to read, only the first errors are shown.
func writeSummaryErrors(b *strings.Builder, r *run.Run, errs []summaryError, room int) {
	shown := len(errs)
	for shown > 1 && room/shown < minSummaryError {
		shown--
	}
	order := make([]int, shown)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return len(errs[x].text) - len(errs[y].text) })
	share := make([]int, shown)
	left := room
	for k, i := range order {
		head := len(errs[i].step.ID) + len(errs[i].step.Action) + 160 // the title, <pre> and the clip note
		fair := left/(shown-k) - head
		share[i] = max(0, min(len(errs[i].text), fair))
		left -= share[i] + head
	}
	for i := range shown {
		e := errs[i]
		text, cut := clipEscaped(e.text, share[i])
		cut += e.dropped
		fmt.Fprintf(b, "\n**%s** (%s)\n\n<pre>%s</pre>\n", mdText(e.step.ID), mdText(e.step.Action), text)
		if cut > 0 {
			fmt.Fprintf(b, "\n(clipped: %d more bytes of this error; `pi runs get %s -o json` has it whole)\n", cut, mdText(r.ID))
		}
	}
	if shown < len(errs) {
		fmt.Fprintf(b, "\n%d more failed steps not shown (a GitHub job summary holds at most 1 MiB): `pi runs get %s`.\n", len(errs)-shown, mdText(r.ID))
	}
}

// clipEscaped cuts HTML-escaped text to at most n bytes, neither inside a character nor
// inside an entity (&amp;), and says how many bytes of it were cut.
func clipEscaped(s string, n int) (string, int) {
	if len(s) <= n {
		return s, 0
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if amp := strings.LastIndexByte(s[:cut], '&'); amp >= 0 && !strings.Contains(s[amp:cut], ";") {
		cut = amp
	}
	return s[:cut], len(s) - cut
}

// summaryDetail is the Detail cell: the error's first line, else the results that matter
// (the image as a link), else the job.
func summaryDetail(s *run.Step) string {
	if s.Error != "" {
		return mdText(clipRunes(oneLine(StepErrorText(s)), maxSummaryDetail))
	}
	var parts []string
	if s.Status == run.StepReused && s.JobID != "" {
		parts = append(parts, mdText("reused job "+s.JobID))
	}
	if s.Status.Succeeded() {
		for _, role := range shownRoles {
			k, v, ok := catalog.RoleOf(s.Action, s.Result, role)
			if !ok || v == nil {
				continue
			}
			if u := safeURL(v); role == catalog.RoleImage && u != "" {
				parts = append(parts, "[image]("+mdURL(u)+")")
				continue
			}
			parts = append(parts, mdText(fmt.Sprintf("%s=%v", k, v)))
		}
		for _, keys := range [][]string{linkKeys, localKeys} {
			for _, k := range keys {
				if v, ok := s.Result[k]; ok && v != nil {
					parts = append(parts, mdText(fmt.Sprintf("%s=%v", k, v)))
				}
			}
		}
	}
	if len(parts) == 0 && s.JobID != "" {
		parts = append(parts, mdText("job "+s.JobID))
	}
	return strings.Join(parts, " ")
}

var (
	mdOnce    sync.Once
	mdEscaper *strings.Replacer
)

// mdText makes text literal in a GitHub Markdown table cell: HTML is escaped, and the
// characters that start emphasis, links, code or a new cell are backslash-escaped. Its
// replacer is built on first use: only a run under GitHub Actions writes a job summary.
func mdText(s string) string {
	mdOnce.Do(func() {
		mdEscaper = strings.NewReplacer(
			"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
			`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "|", `\|`, "~", `\~`,
			"\r\n", " ", "\n", " ", "\r", " ", "\t", " ",
		)
	})
	return mdEscaper.Replace(stripControls(s))
}

// mdURL writes an http(s) URL for a Markdown link target: characters that could end it
// are percent-encoded.
func mdURL(u string) string {
	return strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E", `"`, "%22",
		"|", "%7C", `\`, "%5C", "`", "%60", "[", "%5B", "]", "%5D", "*", "%2A", "_", "%5F").Replace(u)
}

// safeURL is v when it is an absolute http(s) URL, else "".
func safeURL(v any) string {
	s, _ := v.(string)
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

// stripControls drops control characters other than newline and tab.
func stripControls(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) {
			return -1
		}
		return r
	}, s)
}
