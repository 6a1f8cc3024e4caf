// Package sandbox is the simulated Pi server: an http.Handler with the real server's routes,
// envelopes, errors, step semantics and quirks, simulated jobs, long-polls and SQLite
// persistence, so pipelines can be developed and tested with no account and no cost.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/run"
)

// How many finished runs and jobs stay in memory; memory stays bounded however many are
// created, and older ones are read from the database when asked for.
// keepBytes bounds them by size as well (the JSON they were stored as: a run body may be
// 16 MiB, and a thousand of those would not fit).
const (
	keepRuns  = 1000
	keepJobs  = 2000
	keepBytes = 64 << 20
)

// OrgID is the organisation every sandbox object belongs to (the fixtures' one).
const OrgID = "0f0e0d0c-0b0a-4999-8888-777766665555"

// Options configure a sandbox server.
type Options struct {
	// APIKey is the one key the server accepts. Start generates one when empty; New
	// requires it.
	APIKey string
	// DBPath is the SQLite file ("" or ":memory:" keeps everything in memory).
	DBPath string
	// Latency is how long a simulated job takes (±20 % jitter); 0 means 1s.
	Latency time.Duration
	// FailRate is the share of jobs that fail at random; ErrorRate the share of requests
	// answered 503 before they do anything.
	FailRate, ErrorRate float64
	// FailFirst makes the first n jobs this server creates fail (then jobs behave as
	// usual): a retry that succeeds, reproducibly, for tests of clients' retries.
	FailFirst int
	// RateLimit is the requests allowed per window (then 429), N 0 for no limit.
	RateLimit Rate
	// TimeScale runs the server's time this many times faster than the wall clock
	// (0 or 1: real time): its clock (unless Clock is given, which should then run as
	// fast), the rate limit's windows, Reset and Retry-After, a job's Latency and a
	// long-poll's timeout_seconds are all in the server's time. A benchmark scales a
	// minute's window to a second with the same arithmetic.
	TimeScale float64
	// Logger gets one line per request; nil logs nothing.
	Logger io.Writer
	// Clock gives the timestamps (nil: the wall clock).
	Clock clock.Clock
	// PublicURL is the origin the ads' images are served from (under /files/), e.g.
	// http://127.0.0.1:8080; empty means http://127.0.0.1 (requests never choose it).
	PublicURL string
}

// Server is the simulated Pi server. It is an http.Handler; Close stops its runs and jobs
// and closes the database. Runs cut off by Close resume when a server is opened again on
// the same database.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	db      *store
	limiter *limiter

	mu   sync.Mutex
	runs map[string]*runRec
	jobs map[string]*jobRec
	// resumeJobs maps "run/step" to the job a step had started before a restart.
	resumeJobs map[string]string
	// settledRuns and settledJobs are the finished objects in memory, oldest first; past
	// keepRuns and keepJobs the oldest leave memory and are read from the database.
	settledRuns, settledJobs []settled
	// settledBytes is the size of the settled objects still in memory; keepBytes its bound.
	settledBytes, keepBytes int
	keepRuns, keepJobs      int
	closing                 bool
	// failedFirst counts the jobs failed for Options.FailFirst.
	failedFirst int
	// idem remembers the campaign endpoints' Idempotency-Keys; idemMu serialises the
	// creations that carry one.
	idemMu sync.Mutex
	idem   idemStore
	// draining is closed when the server stops: open long-polls answer at once.
	draining chan struct{}
	images   imageCache

	ctx     context.Context // cancelled by Close: stops runs and job timers
	cancel  context.CancelFunc
	runsWG  sync.WaitGroup
	logMu   sync.Mutex
	closeMu sync.Once
	closeEr error
}

// New opens (or creates) the database, loads what it holds, finishes the jobs and resumes
// the runs a previous server left unfinished, and returns the handler.
func New(opts Options) (*Server, error) {
	if opts.APIKey == "" {
		return nil, errors.New("sandbox: an API key is required")
	}
	if opts.Latency <= 0 {
		opts.Latency = time.Second
	}
	if opts.TimeScale < 0 {
		return nil, fmt.Errorf("sandbox: the time scale must be >= 0 (got %g)", opts.TimeScale)
	}
	opts.TimeScale = max(opts.TimeScale, 1)
	if opts.Clock == nil && opts.TimeScale > 1 {
		opts.Clock = clock.NewScaled(opts.TimeScale)
	}
	opts.Latency = scaled(opts.Latency, opts.TimeScale)
	opts.Clock = clock.Or(opts.Clock)
	if opts.FailFirst < 0 {
		return nil, fmt.Errorf("sandbox: the number of first jobs to fail must be 0 or more (got %d)", opts.FailFirst)
	}
	if opts.FailRate < 0 || opts.FailRate > 1 || opts.ErrorRate < 0 || opts.ErrorRate > 1 {
		return nil, fmt.Errorf("sandbox: fail and error rates must be between 0 and 1 (got %g and %g)", opts.FailRate, opts.ErrorRate)
	}
	if opts.RateLimit.N < 0 || (opts.RateLimit.N > 0 && opts.RateLimit.Per < time.Second) {
		return nil, fmt.Errorf("sandbox: rate limit must be >= 0 requests per window of a second or more (got %d per %s)", opts.RateLimit.N, opts.RateLimit.Per)
	}
	db, err := openStore(opts.DBPath)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:       opts,
		db:         db,
		limiter:    newLimiter(opts.RateLimit),
		runs:       map[string]*runRec{},
		jobs:       map[string]*jobRec{},
		resumeJobs: map[string]string{},
		keepRuns:   keepRuns,
		keepJobs:   keepJobs,
		keepBytes:  keepBytes,
		draining:   make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	if err := s.load(); err != nil {
		db.close()
		return nil, err
	}
	return s, nil
}

// scaled is d of the server's time in real time.
func scaled(d time.Duration, scale float64) time.Duration {
	return time.Duration(float64(d) / scale)
}

// random returns a number in [0,1) for jitter and faults.
func (s *Server) random() float64 { return mrand.Float64() }

// Drain answers every open long-poll with the current state and makes new ones answer at
// once; call it before http.Server.Shutdown so shutdown does not wait for long-polls.
func (s *Server) Drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closing {
		s.closing = true
		close(s.draining)
	}
}

// Close drains long-polls, stops runs and jobs without recording them as cancelled (they
// resume on the next start), writes what is pending and closes the database.
func (s *Server) Close() error {
	s.closeMu.Do(func() {
		s.Drain()
		s.cancel()
		s.runsWG.Wait()
		s.mu.Lock()
		for _, j := range s.jobs {
			if j.timer != nil {
				j.timer.Stop()
			}
		}
		s.mu.Unlock()
		s.closeEr = s.db.close()
	})
	return s.closeEr
}

// Instance is a sandbox listening on a loopback port.
type Instance struct {
	URL    string // base URL, e.g. http://127.0.0.1:53117
	APIKey string
	// Close shuts the HTTP server down gracefully and closes the sandbox.
	Close func() error
}

// Start serves a new sandbox on 127.0.0.1 on a free port until Close is called or ctx is
// done. An empty opts.APIKey gets a generated `pi_test_...` key.
func Start(ctx context.Context, opts Options) (*Instance, error) {
	if opts.APIKey == "" {
		opts.APIKey = NewAPIKey()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sandbox: listen on loopback: %w", err)
	}
	if opts.PublicURL == "" {
		opts.PublicURL = "http://" + ln.Addr().String()
	}
	s, err := New(opts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = hs.Serve(ln)
	}()
	var once sync.Once
	var closeErr error
	stop := func() error {
		once.Do(func() {
			closeErr = Shutdown(context.Background(), hs, s)
			<-served
		})
		return closeErr
	}
	stopped := make(chan struct{})
	var stopOnce sync.Once
	go func() {
		select {
		case <-ctx.Done():
			_ = stop()
		case <-stopped:
		}
	}()
	return &Instance{
		URL:    "http://" + ln.Addr().String(),
		APIKey: opts.APIKey,
		Close: func() error {
			stopOnce.Do(func() { close(stopped) })
			return stop()
		},
	}, nil
}

// Shutdown stops hs gracefully in front of s: long-polls are answered first, then the HTTP
// server waits (up to 5 s, or ctx) for requests in flight, then s is closed.
func Shutdown(ctx context.Context, hs *http.Server, s *Server) error {
	s.Drain()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := hs.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// What is left are connections a client opened but never used (net/http waits
		// 5 s for those) or requests that outlived the grace period: cut them.
		err = hs.Close()
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// NewAPIKey returns a fresh random key in the sandbox's `pi_test_...` form.
func NewAPIKey() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return "pi_test_" + hex.EncodeToString(b[:])
}

// settled is a finished object whose final state the database holds, and its size.
type settled struct {
	id   string
	size int
}

// evictLocked lets the oldest finished objects leave memory once the database holds them:
// past keepRuns runs, keepJobs jobs, or keepBytes of both.
func (s *Server) evictLocked() {
	for _, op := range s.db.takeSettled() {
		e := settled{id: op.id, size: op.size}
		s.settledBytes += e.size
		if op.table == "runs" {
			s.settledRuns = append(s.settledRuns, e)
		} else {
			s.settledJobs = append(s.settledJobs, e)
		}
	}
	for len(s.settledRuns) > 0 && (len(s.settledRuns) > s.keepRuns || s.settledBytes > s.keepBytes) {
		e := s.settledRuns[0]
		s.settledRuns = s.settledRuns[1:]
		s.settledBytes -= e.size
		if r, ok := s.runs[e.id]; ok && r.state.Status.Terminal() {
			delete(s.runs, e.id)
		}
	}
	for len(s.settledJobs) > 0 && (len(s.settledJobs) > s.keepJobs || s.settledBytes > s.keepBytes) {
		e := s.settledJobs[0]
		s.settledJobs = s.settledJobs[1:]
		s.settledBytes -= e.size
		if j, ok := s.jobs[e.id]; ok && j.terminal() {
			delete(s.jobs, e.id)
		}
	}
}

// findRun returns the run from memory, or from the database when it left memory; nil
// when there is no such run.
func (s *Server) findRun(id string) (*runRec, error) {
	s.mu.Lock()
	rec, ok := s.runs[id]
	s.mu.Unlock()
	if ok {
		return rec, nil
	}
	row, ok, err := s.db.getRun(id)
	if err != nil || !ok {
		return nil, err
	}
	rec = &runRec{state: &run.Run{}, changed: make(chan struct{})}
	if err := json.Unmarshal(row.doc, rec.state); err != nil {
		return nil, fmt.Errorf("sandbox: decode run %s: %w", id, err)
	}
	return rec, nil
}

// findJob is findRun for jobs.
func (s *Server) findJob(id string) (*jobRec, error) {
	s.mu.Lock()
	j, ok := s.jobs[id]
	s.mu.Unlock()
	if ok {
		return j, nil
	}
	doc, ok, err := s.db.getJob(id)
	if err != nil || !ok {
		return nil, err
	}
	j = &jobRec{changed: make(chan struct{})}
	if err := json.Unmarshal(doc, &j.job); err != nil {
		return nil, fmt.Errorf("sandbox: decode job %s: %w", id, err)
	}
	return j, nil
}
