package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/pi-cli/pi/internal/safe"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// linesProgress writes one line per transition on stderr (plain, and table when stderr is
// not a terminal) and the final table and summary on stdout. Quiet writes only the result.
type linesProgress struct {
	*base
	seen    dedupe
	started bool
}

func (p *linesProgress) Start(r *run.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return
	}
	p.started = true
	p.seen[""] = saidBy(run.Event{RunID: r.ID, Status: string(r.Status)})
	if !p.opts.Quiet {
		p.write(p.io.ErrOut, p.opts.Clock.Now().UTC().Format(time.RFC3339)+"  run "+r.ID+"  "+string(r.Status)+"\n")
	}
}

func (p *linesProgress) Event(e run.Event, _ *run.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev, fresh := p.seen.add(e)
	if !fresh || p.opts.Quiet {
		return
	}
	// A step's job id is worth a line's end when the job starts, not at every change.
	newJob := e.JobID != "" && e.JobID != prev.jobID && !run.StepStatus(e.Status).Terminal()
	p.write(p.io.ErrOut, eventLine(e, p.opts.Clock.Now(), p.opts.ShowAttempts, newJob, p.opts.MaxAttempts[e.StepID])+"\n")
}

func (p *linesProgress) Warn(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.write(p.io.ErrOut, p.warnLine(msg))
}

func (p *linesProgress) Stop() {}

func (p *linesProgress) Finish(r *run.Run) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r != nil {
		p.writeResult(r)
	}
	return p.err
}

// jsonProgress writes lines on stderr like plain and the final run as indented JSON.
type jsonProgress struct{ linesProgress }

func (p *jsonProgress) Finish(r *run.Run) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r == nil {
		return p.err
	}
	b, err := r.OutputJSON()
	if err != nil {
		return fmt.Errorf("encode run %s: %w", r.ID, err)
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, b, "", "  "); err != nil {
		return fmt.Errorf("encode run %s: %w", r.ID, err)
	}
	p.write(p.io.Out, string(safe.JSON(ind.Bytes()))+"\n")
	return p.err
}

// jsonlProgress writes one JSON event per line on stdout, the final run last; stderr gets
// only warnings.
type jsonlProgress struct {
	*base
	seen    dedupe
	started bool
}

func (p *jsonlProgress) Start(r *run.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return
	}
	p.started = true
	e := run.Event{RunID: r.ID, Status: string(r.Status)}
	p.seen[""] = saidBy(e)
	e.Time = p.opts.Clock.Now().UTC()
	p.jsonLine(e)
}

func (p *jsonlProgress) Event(e run.Event, _ *run.Run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, fresh := p.seen.add(e); fresh {
		e.Time = e.Time.UTC() // one zone in every time pi prints
		p.jsonLine(e)
	}
}

func (p *jsonlProgress) Warn(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.write(p.io.ErrOut, p.warnLine(msg))
}

func (p *jsonlProgress) Stop() {}

func (p *jsonlProgress) Finish(r *run.Run) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r != nil {
		p.jsonLine(r)
	}
	return p.err
}

// jsonLine writes v as one line: an event, or the run as pi prints runs (Run.OutputJSON).
func (p *jsonlProgress) jsonLine(v any) {
	var b []byte
	var err error
	if r, isRun := v.(*run.Run); isRun {
		b, err = r.OutputJSON()
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		if p.err == nil {
			p.err = fmt.Errorf("encode event: %w", err)
		}
		return
	}
	// Written as bytes: the run of a big run is one line of tens of MB, which a string
	// (and a string with its newline) would copy twice more at pi's peak of memory.
	if _, err := p.io.Out.Write(append(safe.JSON(b), '\n')); err != nil && p.err == nil {
		p.err = fmt.Errorf("write output: %w", err)
	}
}
