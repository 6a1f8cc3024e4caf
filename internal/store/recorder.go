package store

import (
	"context"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// Sink is where a Recorder saves a run: the runs database (*Store), or a stand-in that
// fails on purpose in tests.
type Sink interface {
	Create(ctx context.Context, rec Record) error
	SaveEvents(ctx context.Context, id string, evs []run.Event) error
	Finish(ctx context.Context, id string, status run.Status) error
	Path() string
}

// groupCommitWindow is how long a Recorder gathers transitions after the first of a batch
// before it saves them in one transaction and shows them: a fast run pays a commit per
// window, not per event, and a person sees no delay (a terminal redraws every 100 ms). The
// end of a run is saved and shown at once. At 2 ms a 50-step chain of `true` paid a fifth
// of pi's own CPU time in commits; at 10 ms its pi process uses about 10 % less CPU.
const groupCommitWindow = 10 * time.Millisecond

// Recorder owns "saved before shown" for a run this process executes: it is the engine's
// observer (Observe), saves the transitions in batches (one transaction per
// groupCommitWindow) and hands each batch to the display only once it is committed, so a
// killed pi loses nothing that was shown. The engine waits for the disk only when
// MaxQueued transitions are queued (GroupCommit). Each event carries its step's new state,
// which is all the record and the display read: a batch costs the same in a run of 50
// steps or of 100,000.
type Recorder struct {
	sink Sink
	id   string
	// ctx outlives the run's own cancellation: the cancelled state is exactly what has to
	// be recorded.
	ctx  context.Context
	show func(run.Event)
	gc   *GroupCommit[run.Event]
	err  error // the first save that failed after its retries, diagnosed
}

// StartRecorder saves rec (a new run, or a resumed one starting again) as owned by this
// process, and returns the Recorder of its transitions; show receives each transition
// once it is saved, on the Recorder's goroutine, in order.
func StartRecorder(ctx context.Context, sink Sink, rec Record, show func(run.Event)) (*Recorder, error) {
	ctx = context.WithoutCancel(ctx)
	rec.Owner = Self()
	if err := Retry(ctx, func(ctx context.Context) error { return sink.Create(ctx, rec) }); err != nil {
		return nil, Diagnose(sink.Path(), err)
	}
	r := &Recorder{sink: sink, id: rec.Run.ID, ctx: ctx, show: show}
	r.gc = NewGroupCommit(groupCommitWindow, r.commit)
	return r, nil
}

// Observe queues a transition; it is the engine's observer.
func (r *Recorder) Observe(ev run.Event) { r.gc.Add(ev) }

func (r *Recorder) commit(batch []run.Event) {
	err := Retry(r.ctx, func(ctx context.Context) error { return r.sink.SaveEvents(ctx, r.id, batch) })
	if err != nil && r.err == nil {
		r.err = Diagnose(r.sink.Path(), err)
	}
	// A batch that could not be saved is still shown: the run goes on, and its record's gap
	// is reported at the end.
	for k := range batch {
		r.show(batch[k])
	}
}

// Flush waits until every transition observed so far is saved (or its save failed after
// its retries: the run goes on, Close reports it), or until ctx ends.
func (r *Recorder) Flush(ctx context.Context) error { return r.gc.Flush(ctx) }

// Close waits until every transition observed is saved and shown. It returns the first
// save that failed: the run itself went on, but its record is incomplete.
func (r *Recorder) Close() error {
	r.gc.Close()
	return r.err
}

// Finish is Close, then the run's end recorded: its final status, and that no pi process
// owns it any more.
func (r *Recorder) Finish(status run.Status) error {
	r.gc.Close()
	err := Retry(r.ctx, func(ctx context.Context) error { return r.sink.Finish(ctx, r.id, status) })
	if r.err == nil && err != nil {
		r.err = Diagnose(r.sink.Path(), err)
	}
	return r.err
}
