package render

import (
	"fmt"
	"html"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// summaryEnv names the file GitHub Actions shows as the job's summary page.
const summaryEnv = "GITHUB_STEP_SUMMARY"

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
	clock func() time.Time

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
	md := SummaryMarkdown(s.last, s.clock(), stopped)
	f, err := os.OpenFile(s.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		_, err = f.WriteString(md)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(s.ios.ErrOut, "warning: could not write the GitHub job summary: %v\n", err)
	}
}

// statusIcon is a step's or run's status as the summary shows it.
func statusIcon(word string) string {
	switch word {
	case "completed":
		return "✅ completed"
	case "failed":
		return "❌ failed"
	case "reused":
		return "♻️ reused"
	case "skipped":
		return "⏭️ skipped"
	case "cancelled":
		return "🚫 cancelled"
	case "not run":
		return "⚪ not run"
	case "processing", "in_progress":
		return "⏳ " + word
	}
	return "🕓 " + word
}

// SummaryMarkdown is the job summary section of a run. stopped says pi stopped following
// it before it ended. Everything a server or a file said is escaped: it can neither break
// the table nor inject HTML.
func SummaryMarkdown(r *run.Run, now time.Time, stopped bool) string {
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
	for i := range r.Steps {
		s := &r.Steps[i]
		dur := "-"
		if !s.StartedAt.IsZero() {
			dur = stepDurationText(s, now)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdText(s.ID), mdText(s.Action),
			statusIcon(statusWord(r, s)), mdText(dur), summaryDetail(s))
	}

	var imgs []string
	for i := range r.Steps {
		s := &r.Steps[i]
		if u := safeURL(s.Result["image_url"]); u != "" && s.Status.Succeeded() {
			a := html.EscapeString(u)
			imgs = append(imgs, fmt.Sprintf(`<a href="%s"><img src="%s" width="240" alt="%s" title="%s"></a>`,
				a, a, html.EscapeString(s.ID), html.EscapeString(s.ID)))
		}
	}
	if len(imgs) > 0 {
		b.WriteString("\n#### Images\n\n")
		b.WriteString(strings.Join(imgs, "\n"))
		b.WriteString("\n")
	}

	first := true
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Status != run.StepFailed || s.Error == "" {
			continue
		}
		if first {
			b.WriteString("\n#### Errors\n")
			first = false
		}
		fmt.Fprintf(&b, "\n**%s** (%s)\n\n<pre>%s</pre>\n", mdText(s.ID), mdText(s.Action),
			html.EscapeString(strings.TrimRight(stripControls(StepErrorText(s)), "\n")))
	}
	b.WriteString("\n")
	return b.String()
}

// summaryDetail is the Detail cell: the error's first line, else the results that matter
// (the image as a link), else the job.
func summaryDetail(s *run.Step) string {
	if s.Error != "" {
		return mdText(oneLine(StepErrorText(s)))
	}
	var parts []string
	if s.Status == run.StepReused && s.JobID != "" {
		parts = append(parts, mdText("reused job "+s.JobID))
	}
	if s.Status.Succeeded() {
		for _, k := range resultKeys {
			v, ok := s.Result[k]
			if !ok || v == nil {
				continue
			}
			if k == "image_url" {
				if u := safeURL(v); u != "" {
					parts = append(parts, "[image]("+mdURL(u)+")")
					continue
				}
			}
			parts = append(parts, mdText(fmt.Sprintf("%s=%v", k, v)))
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
