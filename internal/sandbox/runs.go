package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// runRec is a run held by the server: the body it was created with and its latest state.
// state is replaced, never modified, so a reader may use the pointer it got under s.mu.
type runRec struct {
	body     *pipeline.RunsRequest
	bodyJSON []byte
	state    *run.Run
	changed  chan struct{} // closed and replaced at every change
}

func (s *Server) handleCreateRun(w http.ResponseWriter, r *http.Request) {
	obj, e := readObject(w, r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	body, e := parseRunBody(obj)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	now := s.opts.Clock.Now().UTC()
	st := &run.Run{ID: uuid.NewString(), OrgID: OrgID, Status: run.Pending, Metadata: body.Metadata,
		CreatedAt: now, UpdatedAt: now}
	created := make([]map[string]string, len(body.Steps))
	for i, bs := range body.Steps {
		st.Steps = append(st.Steps, run.Step{ID: bs.ID, Action: bs.Action, Status: run.StepPending,
			DependsOn: append([]string{}, bs.DependsOn...)})
		created[i] = map[string]string{"id": bs.ID, "status": string(run.StepPending)}
	}
	bodyJSON, _ := json.Marshal(body)
	rec := &runRec{body: body, bodyJSON: bodyJSON, state: st, changed: make(chan struct{})}
	s.mu.Lock()
	s.evictLocked()
	s.runs[st.ID] = rec
	committed := s.saveRunLocked(rec)
	s.mu.Unlock()
	if err := <-committed; err != nil {
		s.mu.Lock()
		delete(s.runs, st.ID)
		s.mu.Unlock()
		s.writeError(w, r, &apiError{status: http.StatusInternalServerError, typ: errAPI, code: "run_create_failed", message: "Could not create the run; it was not created, retry."})
		return
	}
	s.startRun(rec, nil)
	s.writeEnvelope(w, r, http.StatusAccepted, "run", map[string]any{
		"run_id": st.ID, "status": run.Pending, "steps": created,
	})
}

func (s *Server) handleGetRun(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !catalog.IsUUID(id) {
		s.writeError(w, r, badRequest("invalid_run_id", "Invalid run id: expected a uuid."))
		return
	}
	p, e := parseWait(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	rec, err := s.findRun(strings.ToLower(id))
	if err != nil {
		s.writeError(w, r, &apiError{status: http.StatusInternalServerError, typ: errAPI, code: "run_lookup_failed", message: "Could not read the run; retry."})
		return
	}
	if rec == nil {
		s.writeError(w, r, &apiError{status: http.StatusNotFound, typ: errInvalidRequest, code: "run_not_found", message: "Not found."})
		return
	}
	s.longPoll(r.Context(), p, func() (bool, <-chan struct{}) { return rec.state.Status.Terminal(), rec.changed })
	s.mu.Lock()
	st := rec.state
	s.mu.Unlock()
	s.writeEnvelope(w, r, http.StatusOK, "run", st)
}

func (s *Server) saveRunLocked(rec *runRec) <-chan error {
	doc, _ := json.Marshal(rec.state)
	return s.db.put(writeOp{table: "runs", id: rec.state.ID, body: rec.bodyJSON, doc: doc,
		status: string(rec.state.Status), terminal: rec.state.Status.Terminal(),
		updated: rec.state.UpdatedAt.Unix()})
}

// startRun executes the run with the engine, as the server does (waves, no retries);
// resume is the stored state of a run a previous server left unfinished.
func (s *Server) startRun(rec *runRec, resume *run.Run) {
	dirty := make(chan struct{}, 1)
	opts := engine.Options{
		RunID:        rec.state.ID,
		Scheduler:    waves{},
		DefaultRetry: &pipeline.Retry{MaxAttempts: 1},
		Resume:       resume,
		// The observer only marks the run dirty: the run's goroutine takes the snapshot, so
		// the engine is never called back from inside its own observer.
		Observer: func(run.Event) {
			select {
			case dirty <- struct{}{}:
			default:
			}
		},
	}
	p := rec.body.Pipeline()
	rn, err := engine.New(p, p.Graph(), engine.ExecutorFunc(s.execute), opts)
	if err != nil {
		s.failRun(rec, fmt.Sprintf("run_trigger_failed: %v", err))
		return
	}
	s.mu.Lock()
	if s.closing {
		// Stopping: the run stays as stored and resumes on the next start.
		s.mu.Unlock()
		return
	}
	s.runsWG.Add(1) // under s.mu, so never after Close began waiting
	s.mu.Unlock()
	go func() {
		defer s.runsWG.Done()
		done := make(chan struct{})
		var final *run.Run
		go func() {
			defer close(done)
			final, _ = rn.Run(s.ctx)
		}()
		for {
			select {
			case <-dirty:
				s.recordRun(rec, rn.Snapshot())
			case <-done:
				if final == nil {
					final = rn.Snapshot()
				}
				s.recordRun(rec, final)
				return
			}
		}
	}()
}

// recordRun makes snap the run's state, saves it and wakes its long-polls. Nothing is
// recorded once the server is closing: the engine then reports steps cancelled by the
// shutdown, which must not be saved, so the run resumes on the next start.
func (s *Server) recordRun(rec *runRec, snap *run.Run) {
	if snap == nil || s.ctx.Err() != nil {
		return
	}
	st := snap.Clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	old := rec.state
	st.ID, st.OrgID, st.Metadata, st.CreatedAt = old.ID, OrgID, rec.body.Metadata, old.CreatedAt
	st.UpdatedAt = s.opts.Clock.Now().UTC()
	for i := range st.Steps {
		// The server reports no attempt count.
		st.Steps[i].Attempts = 0
		if st.Steps[i].DependsOn == nil {
			st.Steps[i].DependsOn = []string{}
		}
	}
	if sameRun(old, st) {
		return
	}
	rec.state = st
	s.saveRunLocked(rec)
	close(rec.changed)
	rec.changed = make(chan struct{})
}

// sameRun reports whether b shows nothing new over a (time of update aside). Results are
// set once and never modified, so the same map means the same result.
func sameRun(a, b *run.Run) bool {
	if a.Status != b.Status || len(a.Steps) != len(b.Steps) {
		return false
	}
	for i := range a.Steps {
		x, y := &a.Steps[i], &b.Steps[i]
		if x.ID != y.ID || x.Status != y.Status || x.JobID != y.JobID || x.Error != y.Error ||
			!x.StartedAt.Equal(y.StartedAt) || !x.CompletedAt.Equal(y.CompletedAt) ||
			reflect.ValueOf(x.Result).UnsafePointer() != reflect.ValueOf(y.Result).UnsafePointer() {
			return false
		}
	}
	return true
}

// failRun ends a run the engine could not start.
func (s *Server) failRun(rec *runRec, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := rec.state.Clone()
	st.Status = run.Failed
	st.UpdatedAt = s.opts.Clock.Now().UTC()
	for i := range st.Steps {
		if !st.Steps[i].Status.Terminal() {
			st.Steps[i].Status, st.Steps[i].Error = run.StepFailed, msg
		}
	}
	rec.state = st
	s.saveRunLocked(rec)
	close(rec.changed)
	rec.changed = make(chan struct{})
}

// execute runs one step as the server does: it creates the action's job (the step fails
// at once when the input is invalid) and waits for the job to end.
func (s *Server) execute(ctx context.Context, req engine.Request) (map[string]any, error) {
	var j *jobRec
	s.mu.Lock()
	key := req.RunID + "/" + req.Step.ID
	resumeID, resumed := s.resumeJobs[key]
	delete(s.resumeJobs, key)
	s.mu.Unlock()
	if resumed {
		// After a restart the step picks up the job it had started (which may have
		// finished and left memory).
		j, _ = s.findJob(resumeID)
	}
	if j == nil {
		// Inside a run the orchestrator checks the resolved input with the action's schema
		// (the step fails with zod's issue list) but not the source job: the worker fails
		// the job, with a failure_code and no error log.
		a, _ := catalog.Lookup(req.Step.Action)
		clean, issues := a.Parse(s.ownImagesAsHTTPS(req.Input))
		if len(issues) > 0 {
			return nil, engine.Permanent(errors.New(catalog.ZodMessage(issues)))
		}
		var committed <-chan error
		j, committed = s.createJob(req.Step.Action, clean, s.sourceProblem(a, clean))
		if err := <-committed; err != nil {
			return nil, engine.Permanent(fmt.Errorf("child_job_create_failed: %w", err))
		}
	}
	if req.SetJobID != nil {
		req.SetJobID(j.ID)
	}
	for {
		s.mu.Lock()
		snap, changed := j.job, j.changed
		s.mu.Unlock()
		switch snap.Status {
		case catalog.JobCompleted:
			return run.JobResult(snap.ID, snap.Type, snap.ResultURL, snap.Payload), nil
		case catalog.JobFailed:
			log := snap.ErrorLog
			if log == "" {
				log = "child_job_failed"
			}
			return nil, &engine.StepError{Err: errors.New(log), Result: run.FailedJobResult(snap.ID, snap.ErrorLog)}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// load reads the database: finished objects are served as they were, unfinished jobs are
// finished and unfinished runs resumed.
func (s *Server) load() error {
	docs, err := s.db.loadJobs()
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, doc := range docs {
		j := &jobRec{changed: make(chan struct{})}
		if err := json.Unmarshal(doc, &j.job); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("sandbox: load jobs: %w", err)
		}
		s.jobs[j.ID] = j
		if !j.terminal() {
			// A job cut off by a restart finishes within this server's latency.
			now := time.Now()
			j.StartAt = min(j.StartAt, now.Add(s.opts.Latency/4).UnixNano())
			j.DueAt = min(j.DueAt, now.Add(s.opts.Latency).UnixNano())
		}
		s.scheduleLocked(j)
	}
	s.mu.Unlock()
	rows, err := s.db.loadRuns()
	if err != nil {
		return err
	}
	var resume []*runRec
	s.mu.Lock()
	for _, row := range rows {
		rec := &runRec{body: &pipeline.RunsRequest{}, bodyJSON: row.body, state: &run.Run{}, changed: make(chan struct{})}
		if err := json.Unmarshal(row.body, rec.body); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("sandbox: load run %s: %w", row.id, err)
		}
		if err := json.Unmarshal(row.doc, rec.state); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("sandbox: load run %s: %w", row.id, err)
		}
		rec.state.OrgID = OrgID
		s.runs[row.id] = rec
		if rec.state.Status.Terminal() {
			continue
		}
		for _, st := range rec.state.Steps {
			if st.JobID != "" && !st.Status.Terminal() {
				s.resumeJobs[row.id+"/"+st.ID] = st.JobID
			}
		}
		resume = append(resume, rec)
	}
	s.mu.Unlock()
	for _, rec := range resume {
		s.startRun(rec, rec.state.Clone())
	}
	return nil
}
