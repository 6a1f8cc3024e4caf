package cli

import (
	"fmt"
	"strings"

	"github.com/pi-cli/pi/internal/catalog"
)

// actionsWidth is the width `pi actions NAME` wraps to when stdout is not a terminal (and
// the most it uses on a wide one: longer lines read badly).
const actionsWidth = 80

// showAction writes one action in full: what it does, where it runs, each input with its
// rules and description, the groups, and the result fields input_map can take. Text wraps
// to width, so it fits a 60-column terminal.
func showAction(a *catalog.Action, width int) string {
	var b strings.Builder
	para := func(indent, text string) {
		for _, l := range wrapWords(text, width-len(indent)) {
			b.WriteString(indent + l + "\n")
		}
	}
	b.WriteString(a.Name + "\n")
	if a.Description != "" {
		para("  ", a.Description)
	}
	b.WriteString("\n")
	where := "the Pi API (pi run) and the local engine (pi run --local)"
	if a.Local {
		where = "the local engine only (pi run --local)"
	}
	para("", "Runs on: "+where)
	if a.Endpoint != "" {
		para("", "Endpoint: POST "+a.Endpoint+" (job type "+a.JobType+")")
	}
	if a.Idempotent {
		para("", "Idempotent: the endpoint honours Idempotency-Key")
	}
	if len(a.SourceJobTypes) > 0 {
		para("", "source_job_id may name a job of type: "+strings.Join(a.SourceJobTypes, ", "))
	}
	b.WriteString("\nInputs:\n")
	for i := range a.Inputs {
		in := &a.Inputs[i]
		need, group := "optional", ""
		switch g, ok := a.InGroup(in.Name); {
		case in.Required:
			need = "required"
		case ok && g.Exactly:
			need, group = "one of a group", "exactly one of "+strings.Join(g.Inputs, ", ")+" is required"
		case ok:
			need, group = "one of a group", "at least one of "+strings.Join(g.Inputs, ", ")+" is required"
		}
		b.WriteString("  " + in.Name + " (" + need + ")\n")
		if group != "" {
			para("      ", group)
		}
		para("      ", catalog.Rules(in))
		if in.Description != "" {
			para("      ", in.Description)
		}
	}
	if len(a.Result) > 0 {
		b.WriteString("\nResult (input_map: $steps.<id>.result.<field>):\n")
		for _, f := range a.Result {
			kind := string(f.Kind)
			if f.Nullable {
				kind += ", may be null"
			}
			b.WriteString("  " + f.Name + " (" + kind + ")\n")
			if f.Description != "" {
				para("      ", f.Description)
			}
		}
	}
	b.WriteString("\nExample:\n")
	for _, l := range strings.SplitAfter(actionExample(a), "\n") {
		if l != "" {
			b.WriteString("  " + l)
		}
	}
	return b.String()
}

// wrapWords breaks text into lines of at most width columns at spaces (a longer word
// stays whole on its own line).
func wrapWords(text string, width int) []string {
	width = max(width, 20)
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// unknownAction is the error for pi actions NAME of an action that does not exist, with
// the closest names.
func unknownAction(name string) error {
	var names []string
	for _, a := range catalog.All() {
		names = append(names, a.Name)
	}
	var close []string
	for _, n := range names {
		if strings.Contains(n, name) || strings.Contains(name, n) || strings.HasPrefix(n, strings.SplitN(name, ".", 2)[0]+".") {
			close = append(close, n)
		}
	}
	if len(close) == 0 {
		close = names
	}
	return UsageErrorf("no action %q: try %s", name, strings.Join(close, ", "))
}

// compactActions is the list for a terminal too narrow for the full table: one line per
// action, the description cut to the width.
func compactActions(width int) string {
	var b strings.Builder
	nameW := 0
	for _, a := range catalog.All() {
		nameW = max(nameW, len(a.Name))
	}
	for _, a := range catalog.All() {
		runs := "server, local"
		if a.Local {
			runs = "local"
		}
		line := fmt.Sprintf("%-*s  %-13s  %s", nameW, a.Name, runs, firstSentence(a.Description))
		if r := []rune(line); len(r) > width {
			line = string(r[:width-1]) + "…"
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	b.WriteString("\n'pi actions NAME' shows one action in full.\n")
	return b.String()
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
