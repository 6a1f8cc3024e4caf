package render

import (
	"strings"
	"sync"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

func inGitHubActions(ios *IOStreams) bool { return ios.inGitHubActions() }

// githubAnnotations decorates a Progress in GitHub Actions: the progress lines are folded
// in a ::group:: and every failed step becomes an ::error annotation.
func githubAnnotations(ios *IOStreams, opts Options, inner Progress, live bool) Progress {
	if !inGitHubActions(ios) {
		return inner
	}
	return &githubProgress{Progress: inner, ios: ios, group: !opts.Quiet && !live, locate: opts.Locate}
}

type githubProgress struct {
	Progress
	ios    *IOStreams
	group  bool // fold the progress lines
	locate func(step string) (file string, pos pipeline.Pos)

	mu      sync.Mutex
	grouped bool
}

func (g *githubProgress) Start(r *run.Run) {
	g.mu.Lock()
	if g.group && !g.grouped {
		g.grouped = true
		_ = g.ios.WorkflowCommand("::group::pi run " + ghEscape(r.ID) + "\n")
	}
	g.mu.Unlock()
	g.Progress.Start(r)
}

func (g *githubProgress) Stop() {
	g.Progress.Stop()
	g.endGroup()
}

func (g *githubProgress) endGroup() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.grouped {
		g.grouped = false
		_ = g.ios.WorkflowCommand("::endgroup::\n")
	}
}

func (g *githubProgress) Finish(r *run.Run) error {
	g.Progress.Stop()
	g.endGroup()
	if r != nil {
		var b strings.Builder
		for i := range r.Steps {
			s := &r.Steps[i]
			if s.Status == run.StepFailed {
				msg := oneLine(StepErrorText(s))
				if msg == "" {
					msg = "failed"
				}
				writeAnnotation(&b, "error", g.place(s.ID), "step "+s.ID+" ("+s.Action+") failed", msg)
			}
		}
		if b.Len() > 0 {
			if err := g.ios.WorkflowCommand(b.String()); err != nil {
				return err
			}
		}
	}
	return g.Progress.Finish(r)
}

// place is where a step is written in the pipeline file, for its annotation: nothing
// known when the run has no file here (pi runs get) or the step is not found in it.
func (g *githubProgress) place(step string) annotationPlace {
	if g.locate == nil {
		return annotationPlace{}
	}
	file, pos := g.locate(step)
	return annotationPlace{file: file, line: pos.Line, col: pos.Column}
}
