package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/reuse"
	"github.com/pi-cli/pi/internal/waves"
)

// runDryRun is `pi run FILE --dry-run`: the file is validated, params applied and matrices
// expanded exactly as for a run, then what would be sent (remote: the POST /api/v1/runs
// body, compact as sent when stdout is piped, indented on a terminal; --local: the plan the
// engine would execute, indented) goes to stdout and a summary of the
// cost to stderr: per step, whether it reuses a job paid for earlier (the step cache,
// checked with the server when pi has its key) or pays. Nothing is created, so no key or
// base URL is needed; --max-jobs refuses as it would for the run.
func runDryRun(ctx context.Context, o *runOptions, clients *piClients) error {
	mode := pipeline.Remote
	if o.Local {
		mode = pipeline.Local
	}
	x, _, err := loadForRun(o, o.File, mode, o.Params, nil)
	if err != nil {
		return err
	}
	if err := checkReroll(x, o.Reroll); err != nil {
		return err
	}
	pp := o.planDry(ctx, x, clients)
	defer pp.close()
	var plan *waves.Plan // over 10 steps to send: the server runs
	if err := o.budget(pp); err != nil {
		return err
	}
	if o.Local {
		// Written as it is made: the plan of 100,000 steps is tens of megabytes of JSON.
		w := bufio.NewWriterSize(o.IO.Out, 64<<10)
		if err := writePlan(w, x); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("write dry run: %w", err)
		}
	} else {
		if note := strippedNote(x); note != "" {
			fmt.Fprintln(o.IO.ErrOut, note)
		}
		if len(pp.Pipeline.Steps) == 0 {
			fmt.Fprintln(o.IO.ErrOut, "nothing would be sent: every step reuses a job paid for earlier")
		} else if len(pp.Pipeline.Steps) > pipeline.MaxRemoteSteps {
			if plan, err = cutWaves(pp.Pipeline); err != nil {
				return err
			}
			if err := writeWaves(o.IO.Out, pp.Pipeline, plan, o.IO.IsStdoutTTY()); err != nil {
				return err
			}
		} else {
			out, err := pp.Pipeline.RunsBody()
			if err != nil {
				return err
			}
			if o.IO.IsStdoutTTY() {
				// a person reads it: indented (the same JSON; piped, it is the exact bytes sent)
				var b bytes.Buffer
				if err := json.Indent(&b, out, "", "  "); err != nil {
					return fmt.Errorf("indent dry run: %w", err)
				}
				out = b.Bytes()
			}
			if _, err := fmt.Fprintf(o.IO.Out, "%s\n", out); err != nil {
				return fmt.Errorf("write dry run: %w", err)
			}
		}
	}
	if !o.Quiet {
		fmt.Fprint(o.IO.ErrOut, dryRunSummary(x, o, pp, plan))
	}
	return nil
}

// planStep is one step of the --local --dry-run plan: what the engine would execute, with
// the retry policy and timeout that apply to it.
type planStep struct {
	ID        string            `json:"id"`
	Action    string            `json:"action"`
	Input     map[string]any    `json:"input"`
	DependsOn []string          `json:"depends_on"`
	InputMap  map[string]string `json:"input_map,omitempty"`
	Retry     planRetry         `json:"retry"`
	Timeout   string            `json:"timeout,omitempty"`
	Matrix    *planMatrix       `json:"matrix,omitempty"`
}

type planRetry struct {
	MaxAttempts int    `json:"max_attempts"`
	Backoff     string `json:"backoff"`
}

// planMatrix says which matrix step a step was expanded from, with which values.
type planMatrix struct {
	Step   string         `json:"step"`
	Index  int            `json:"index"`
	Of     int            `json:"of"`
	Values map[string]any `json:"values"`
}

// writePlan writes the expanded pipeline as the local engine would run it: the JSON of a
// plan, indented, one step at a time; the same bytes as encoding the whole plan at once.
func writePlan(w *bufio.Writer, x *pipeline.Pipeline) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// encode writes v's JSON, its lines after the first indented by prefix.
	encode := func(prefix string, v any) error {
		buf.Reset()
		enc.SetIndent(prefix, "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
		_, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		return err
	}
	type member struct {
		name  string
		write func() error
	}
	members := []member{{"file", func() error { return encode("  ", x.Name) }}}
	if len(x.Params) > 0 {
		params := make(map[string]any, len(x.Params))
		for name, prm := range x.Params {
			params[name] = prm.Value
		}
		members = append(members, member{"params", func() error { return encode("  ", params) }})
	}
	members = append(members, member{"steps", func() error {
		if len(x.Steps) == 0 {
			_, err := w.WriteString("[]")
			return err
		}
		w.WriteString("[\n")
		for i := range x.Steps {
			w.WriteString("    ")
			if err := encode("    ", planOf(&x.Steps[i])); err != nil {
				return err
			}
			if i < len(x.Steps)-1 {
				w.WriteString(",")
			}
			w.WriteString("\n")
		}
		_, err := w.WriteString("  ]")
		return err
	}})
	if len(x.Metadata) > 0 {
		members = append(members, member{"metadata", func() error { return encode("  ", x.Metadata) }})
	}
	w.WriteString("{\n")
	for k, m := range members {
		w.WriteString("  \"" + m.name + "\": ")
		if err := m.write(); err != nil {
			return fmt.Errorf("encode plan of %s: %w", x.Name, err)
		}
		if k < len(members)-1 {
			w.WriteString(",")
		}
		w.WriteString("\n")
	}
	_, err := w.WriteString("}\n")
	return err
}

// planOf is a step of the plan: what the engine would execute, with the retry policy and
// timeout that apply to it.
func planOf(s *pipeline.Step) planStep {
	r := pipeline.Retry{MaxAttempts: pipeline.DefaultMaxAttempts, Backoff: pipeline.DefaultBackoff}
	if s.Retry != nil {
		r = *s.Retry
	}
	ps := planStep{
		ID: s.ID, Action: s.Action, Input: s.Input, DependsOn: s.DependsOn, InputMap: s.InputMap,
		Retry: planRetry{MaxAttempts: r.MaxAttempts, Backoff: r.Backoff.String()},
	}
	if ps.Input == nil {
		ps.Input = map[string]any{}
	}
	if ps.DependsOn == nil {
		ps.DependsOn = []string{}
	}
	if s.Timeout > 0 {
		ps.Timeout = s.Timeout.String()
	}
	if o := s.Origin; o != nil {
		ps.Matrix = &planMatrix{Step: o.Template, Index: o.Index, Of: o.Count, Values: o.Values}
	}
	return ps
}

// dryRunSummary says what the run would do and cost: steps, layers, the server's batches
// and the paid jobs per action (and per output.resolution).
func dryRunSummary(x *pipeline.Pipeline, o *runOptions, pp *paidPlan, plan *waves.Plan) string {
	var b strings.Builder
	layers := len(x.Graph().Layers()) // the server runs one batch per layer
	switch {
	case o.Local:
		b.WriteString("dry run: nothing was run; stdout has the plan 'pi run --local' would execute\n")
	case plan != nil:
		fmt.Fprintf(&b, "dry run: nothing was sent; stdout has the body of each of the %d server runs (waves) pi would send\n", len(plan.Waves))
	default:
		b.WriteString("dry run: nothing was sent; stdout has the exact body of POST /api/v1/runs\n")
	}
	fmt.Fprintf(&b, "  steps      %s\n", plural(len(x.Steps), "step")+matricesSuffix(x))
	fmt.Fprintf(&b, "  layers     %d\n", layers)
	if o.Local {
		fmt.Fprintf(&b, "  batches    none here: each step starts when its dependencies complete (the Runs API would take %d %s)\n", layers, pluralWord(layers, "batch", "batches"))
	} else if plan == nil {
		fmt.Fprintf(&b, "  batches    %d on the server (a batch starts when the previous one has finished)\n", layers)
	} else {
		b.WriteString(wavesSummary(pp.Pipeline, plan))
	}

	paid := countPaidJobs(x, o.Local, pp.Reused)
	head := fmt.Sprintf("  paid jobs  %d", paid.jobs)
	switch {
	case o.Sandbox:
		head += " (simulated by --sandbox: nothing is paid)"
	case o.Local && paid.attempts > paid.jobs:
		head += fmt.Sprintf(" (up to %d if every retry is used)", paid.attempts)
	}
	if paid.free > 0 {
		head += fmt.Sprintf("; %d local %s free", paid.free, pluralWord(paid.free, "step is", "steps are"))
	}
	b.WriteString(head + "\n")
	w := 0
	for _, a := range paid.actions {
		w = max(w, len(a))
	}
	for _, a := range paid.actions {
		b.WriteString(paid.perAction[a].line(a, w) + "\n")
	}
	b.WriteString(pp.perStep())
	return b.String()
}

// paidJobs counts the jobs a pipeline pays for: per action (sorted in actions), with
// their attempts and output resolutions, and the local steps that are free.
type paidJobs struct {
	perAction            map[string]*actionJobs
	actions              []string
	jobs, attempts, free int
}

type actionJobs struct {
	n           int
	attempts    int
	resolutions map[string]int
}

// countPaidJobs counts x's paid jobs, but for the reused steps; local counts every retry
// the engine may make.
func countPaidJobs(x *pipeline.Pipeline, local bool, reused map[string]reuse.Known) paidJobs {
	p := paidJobs{perAction: map[string]*actionJobs{}}
	for _, s := range x.Steps {
		spec, ok := catalog.Lookup(s.Action)
		if !ok || spec.Endpoint == "" {
			p.free++
			continue
		}
		if _, ok := reused[s.ID]; ok {
			continue
		}
		c := p.perAction[s.Action]
		if c == nil {
			c = &actionJobs{resolutions: map[string]int{}}
			p.perAction[s.Action] = c
			p.actions = append(p.actions, s.Action)
		}
		c.n++
		p.jobs++
		tries := 1
		if local {
			tries = pipeline.DefaultMaxAttempts
			if s.Retry != nil {
				tries = s.Retry.MaxAttempts
			}
		}
		c.attempts += tries
		p.attempts += tries
		if _, takesOutput := spec.Input("output"); takesOutput {
			c.resolutions[resolutionOf(s)]++
		}
	}
	sort.Strings(p.actions)
	return p
}

// line is an action's line of the summary, its name padded to w.
func (c *actionJobs) line(action string, w int) string {
	line := fmt.Sprintf("    %-*s  %d", w, action, c.n)
	if len(c.resolutions) > 0 {
		keys := make([]string, 0, len(c.resolutions))
		for r := range c.resolutions {
			keys = append(keys, r)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, r := range keys {
			parts[i] = fmt.Sprintf("%s: %d", r, c.resolutions[r])
		}
		line += "  (resolution " + strings.Join(parts, ", ") + ")"
	}
	return line
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// resolutionOf is the output.resolution a campaign step asks for: "default" when it sets
// none, "from input_map" when an earlier step's result supplies it.
func resolutionOf(s pipeline.Step) string {
	if _, mapped := s.InputMap["output"]; mapped {
		return "from input_map"
	}
	out, _ := s.Input["output"].(map[string]any)
	switch r := out["resolution"].(type) {
	case nil:
		return "default"
	case string:
		return r
	default:
		return fmt.Sprint(r)
	}
}

// strippedNote says which client-side extensions the body no longer holds, and how each
// was applied; "" when the file has none.
func strippedNote(x *pipeline.Pipeline) string {
	var parts []string
	if len(x.Params) > 0 {
		parts = append(parts, "params substituted")
	}
	if len(x.Expanded()) > 0 {
		parts = append(parts, "matrix expanded")
	}
	for _, s := range x.Steps {
		if s.Retry != nil || s.Timeout != 0 {
			parts = append(parts, "retry and timeout left out (the local engine's only)")
			break
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "note: the body holds no client-side keys: " + strings.Join(parts, ", ")
}
