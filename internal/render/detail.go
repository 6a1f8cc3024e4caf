package render

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/safe"

	"github.com/pi-cli/pi/internal/run"
)

// view is what a table needs beyond the run: what the caller knows about its steps.
type view struct {
	// maxAttempts per step id (local runs), for "retry 2/4".
	maxAttempts map[string]int
	// retryAt per step id: when a step waiting for its next attempt starts it again.
	retryAt map[string]time.Time
}

// detail is the DETAIL cell: why a step failed (the reason first), the retry it waits
// for, a short form of its result, else its job; first, that a job may exist when its
// creation was sent and not answered (its Idempotency-Key, which a resume sends again).
func (v view) detail(s *run.Step, now time.Time) string {
	d := v.stepDetail(s, now)
	if !s.MayHaveJob() || s.Status == run.StepCompleted || s.Status == run.StepReused {
		return d
	}
	if d != "" {
		d = ": " + d
	}
	return "a job may exist (Idempotency-Key " + s.CreationKey + ")" + d
}

func (v view) stepDetail(s *run.Step, now time.Time) string {
	switch {
	case s.Status == run.StepQueued && s.Error != "" && s.Attempts > 0:
		in := ""
		if at, ok := v.retryAt[s.ID]; ok {
			in = Duration(max(at.Sub(now), 0), true)
		}
		return retryText(s.Attempts+1, v.maxAttempts[s.ID], in, s.Error)
	case s.Status == run.StepProcessing && s.Error != "" && s.Attempts > 1:
		// the error is the last attempt's, not this one's: say so
		return attemptText(s.Attempts, v.maxAttempts[s.ID], s.Error)
	case s.Error != "":
		return reasonFirst(failReason(s), bodyExcerpt(s.Result, 80))
	case s.Status == run.StepReused && s.JobID != "":
		return "reused job " + s.JobID
	case s.Status == run.StepCompleted:
		if kv := resultLines(s); len(kv) > 0 {
			parts := make([]string, len(kv))
			for i, x := range kv {
				parts[i] = x[0] + "=" + x[1]
				if x[0] == "stdout" || x[0] == "json" {
					parts[i] = x[1]
				}
			}
			return strings.Join(parts, " ")
		}
	}
	if s.JobID != "" {
		return "job " + s.JobID
	}
	return ""
}

// attemptText is "attempt 2/4, after: reason" (the total unknown: "attempt 2, after: ..."),
// for a step running again after the reason failed its last attempt.
func attemptText(n, max int, reason string) string {
	return "attempt " + ofMax(n, max) + ", after: " + reasonFirst(failReasonText("", reason), "")
}

// ofMax is "2/4", or "2" when the total is unknown (0).
func ofMax(n, max int) string {
	if max > 0 {
		return fmt.Sprintf("%d/%d", n, max)
	}
	return fmt.Sprint(n)
}

// retryText is "retry 2/4 in 0.6s: reason" (the total unknown: "retry 2 in 0.6s: ...").
func retryText(next, max int, in, reason string) string {
	t := "retry " + ofMax(next, max)
	if in != "" {
		t += " in " + in
	}
	if reason != "" {
		t += ": " + reasonFirst(failReasonText("", reason), "")
	}
	return t
}

// reasonFirst puts the cause of an http.request error first: "GET url: Get url: dial
// tcp ...: connection refused" reads "connection refused (GET url)", with the response's
// body after the cause. Other errors are returned as they are, the body appended.
func reasonFirst(reason, body string) string {
	m := httpPrefix().FindStringSubmatch(reason)
	if m == nil {
		if body != "" {
			reason += ": " + body
		}
		return reason
	}
	cause := reason[len(m[0]):]
	if i := strings.LastIndex(cause, ": "); i >= 0 {
		cause = cause[i+2:]
	}
	if body != "" {
		cause += ": " + body
	}
	return cause + " (" + m[1] + ")"
}

// prefixes are the starts of step errors that DETAIL rewrites, compiled on first use (a
// process that draws no failed step never pays for them): httpPrefix is an http.request
// error's request ("GET https://...: "), jobPrefix a job id.
var prefixes struct {
	once                  sync.Once
	httpPrefix, jobPrefix *regexp.Regexp
}

func compilePrefixes() {
	prefixes.httpPrefix = regexp.MustCompile(`^((?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \S+): `)
	prefixes.jobPrefix = regexp.MustCompile(`^job ([0-9a-fA-F]{8})[0-9a-fA-F-]*:? `)
}

func httpPrefix() *regexp.Regexp { prefixes.once.Do(compilePrefixes); return prefixes.httpPrefix }
func jobPrefix() *regexp.Regexp  { prefixes.once.Do(compilePrefixes); return prefixes.jobPrefix }

// failReason is a step's error as the DETAIL cell shows it: the reason first, without the
// action's name the ACTION column already shows, a job id moved to the end.
func failReason(s *run.Step) string { return failReasonText(s.Action, StepErrorText(s)) }

func failReasonText(action, err string) string {
	e := cellSafe(err, false)
	if action != "" {
		e = strings.TrimPrefix(e, action+": ")
	}
	// "brands.extract: job d6fd...: failed: x" -> "failed: x (job d6fd8a1c)"
	if i := strings.Index(e, ": "); action == "" && i > 0 && strings.Contains(e[:i], ".") && !strings.Contains(e[:i], " ") {
		e = e[i+2:]
	}
	if m := jobPrefix().FindStringSubmatch(e); m != nil {
		e = strings.TrimPrefix(e[len(m[0]):], "failed: ") + " (job " + m[1] + ")"
	}
	return e
}

// resultLines are the results of a completed step worth a person's eye, as key and short
// value: the Pi actions' ids and URLs; an HTTP status; a shell step's first line of
// output or its JSON.
func resultLines(s *run.Step) [][2]string {
	res := s.Result
	var out [][2]string
	for _, role := range shownRoles {
		if k, v, ok := catalog.RoleOf(s.Action, res, role); ok && v != nil {
			out = append(out, [2]string{k, cellSafe(fmt.Sprint(v), false)})
		}
	}
	for _, k := range linkKeys {
		if v, ok := res[k]; ok && v != nil {
			out = append(out, [2]string{k, cellSafe(fmt.Sprint(safe.Secrets(k, v)), false)})
		}
	}
	if len(out) > 0 || len(res) == 0 {
		return out
	}
	if st, ok := res["status"].(float64); ok {
		if _, hasHeaders := res["headers"]; hasHeaders { // http.request
			return [][2]string{{"status", fmt.Sprintf("%d %s", int(st), http.StatusText(int(st)))}}
		}
	}
	if st, ok := res["status"].(int); ok {
		if _, hasHeaders := res["headers"]; hasHeaders {
			return [][2]string{{"status", fmt.Sprintf("%d %s", st, http.StatusText(st))}}
		}
	}
	if stdout, ok := res["stdout"].(string); ok { // shell.run
		if line := firstLine(stdout); line != "" {
			return [][2]string{{"stdout", short(safe.SecretsText(line), 60)}}
		}
		if code, ok := res["exit_code"]; ok {
			return [][2]string{{"exit_code", fmt.Sprint(code)}}
		}
		return nil
	}
	// shell.run whose output was a JSON object: the object itself, credentials hidden
	b, err := json.Marshal(safe.Secrets("", res))
	if err != nil {
		return nil
	}
	return [][2]string{{"json", short(cellSafe(string(b), false), 60)}}
}

// bodyExcerpt is the start of an HTTP response body kept in a failed step's result
// (http.request), on one line, or "".
func bodyExcerpt(res map[string]any, n int) string {
	if res == nil {
		return ""
	}
	if _, ok := res["headers"]; !ok {
		return ""
	}
	var body string
	switch {
	case res["json"] != nil:
		b, err := json.Marshal(safe.Secrets("", res["json"]))
		if err != nil {
			return ""
		}
		body = string(b)
	default:
		body, _ = res["body"].(string)
	}
	body = strings.Join(strings.Fields(cellSafe(safe.SecretsText(body), true)), " ")
	return short(body, n)
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(cellSafe(l, false)); l != "" {
			return l
		}
	}
	return ""
}

func short(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// cellSafe makes text from a run (server errors, command output) safe to print (safe.Text:
// control characters, escape sequences included, are written as Go escapes), so they can
// neither move the cursor nor break the table. With multiline, newlines are kept; else the
// text stops at the first line break, marked " …".
func cellSafe(s string, multiline bool) string {
	s = strings.TrimSpace(s)
	if !multiline {
		if i := strings.IndexAny(s, "\r\n"); i >= 0 {
			s = strings.TrimSpace(s[:i]) + " …"
		}
		return safe.Text(strings.NewReplacer("\u2028", " ", "\u2029", " ").Replace(s))
	}
	return safe.Lines(strings.NewReplacer("\u2028", "\n", "\u2029", "\n").Replace(s))
}

// shownRoles are the results worth showing a person first: a step's brand and image (the
// catalog names their fields). linkKeys then are the lists and links a local step's JSON
// output may have, and localKeys a local step's exit code and HTTP status.
var (
	shownRoles = []catalog.Role{catalog.RoleBrand, catalog.RoleImage}
	linkKeys   = []string{"image_urls", "url"}
	localKeys  = []string{"exit_code", "status"}
)

// oneLine is the first line of s, " …" marking a cut (the caller escapes it).
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
