package catalog

import (
	"fmt"
	"strings"
)

// markdown is the action tables of docs/actions.md: one row per action, then every input with its
// rules. A test keeps the file equal to it.
func markdown() string {
	var b strings.Builder
	list := func(names []string) string { return strings.Join(code(names), ", ") }
	b.WriteString("| action | runs | endpoint (job type) | required | optional | result fields |\n|---|---|---|---|---|---|\n")
	for _, a := range All() {
		req := []string{}
		if r := a.Required(); len(r) > 0 {
			req = append(req, list(r))
		}
		for _, g := range a.Groups {
			how := "at least one of "
			if g.Exactly {
				how = "exactly one of "
			}
			req = append(req, how+list(g.Inputs))
		}
		endpoint := "-"
		if a.Endpoint != "" {
			endpoint = fmt.Sprintf("`POST %s` (`%s`)", a.Endpoint, a.JobType)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", a.Name, a.Runs(), endpoint,
			strings.Join(req, "; "), list(a.Optional()), list(a.ResultNames()))
	}
	b.WriteString("\n| action | input | rules |\n|---|---|---|\n")
	for _, a := range All() {
		for i := range a.Inputs {
			in := &a.Inputs[i]
			rules := Rules(in)
			if in.Required {
				rules = "**required**, " + rules
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", a.Name, in.Name, escapeCell(rules))
			for j := range in.Fields {
				f := &in.Fields[j]
				fmt.Fprintf(&b, "| `%s` | `%s.%s` | %s |\n", a.Name, in.Name, f.Name, escapeCell(Rules(f)))
			}
		}
		for _, d := range a.Dropped {
			fmt.Fprintf(&b, "| `%s` | `%s` | dropped by the server: %s |\n", a.Name, d.Key, d.Why)
		}
		if len(a.SourceJobTypes) > 0 {
			fmt.Fprintf(&b, "| `%s` | (source job) | `source_job_id` names a completed %s job |\n", a.Name, strings.Join(code(a.SourceJobTypes), " or "))
		}
	}
	return b.String()
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func code(names []string) []string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	return q
}
