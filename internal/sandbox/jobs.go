package sandbox

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/pi-cli/pi/internal/catalog"
)

// FailWord in a job's url or prompt makes the job fail, so failure paths can be tried on
// purpose; FailLog is the error log it fails with.
const (
	FailWord = "fail"
	FailLog  = "upstream_timeout: simulated failure"
	// randomFailLog is the error log of a job failed by Options.FailRate.
	randomFailLog = "upstream_error: simulated failure (fail rate)"
	// failFirstLog is the error log of a job failed by Options.FailFirst.
	failFirstLog = "upstream_error: simulated failure (fail first)"
)

var failWord struct {
	once sync.Once
	re   *regexp.Regexp
}

// failWordRe is compiled on first use: only a simulated server checks inputs for it.
func failWordRe() *regexp.Regexp {
	failWord.once.Do(func() { failWord.re = regexp.MustCompile(`(?i)\b` + FailWord + `\b`) })
	return failWord.re
}

// brandNamespace derives brand ids: the same source always gives the same brand.
var brandNamespace = uuid.MustParse("6f1c1d3e-8a51-4f0e-9d43-2b7f5f0c9a11")

// job is a simulated job as it is stored.
type job struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Action    string            `json:"action"`
	Status    catalog.JobStatus `json:"status"`
	Input     map[string]any    `json:"input"`
	Payload   map[string]any    `json:"payload"`
	ResultURL string            `json:"result_url,omitempty"`
	ErrorLog  string            `json:"error_log,omitempty"`
	CreatedAt int64             `json:"created_at"`
	UpdatedAt int64             `json:"updated_at"`
	// StartAt and DueAt (unix ns) are when it turns processing and when it ends; FailWith
	// is decided at creation ("" means it completes), so a restart does not change the end.
	StartAt  int64  `json:"start_at_ns"`
	DueAt    int64  `json:"due_at_ns"`
	FailWith string `json:"fail_with,omitempty"`
	// FailCode is the payload.failure_code of a job the worker fails without an error log.
	FailCode string `json:"fail_code,omitempty"`
}

type jobRec struct {
	job
	changed chan struct{} // closed and replaced at every change
	timer   *time.Timer
}

func (j *job) terminal() bool { return j.Status.Terminal() }

// jitter is d ±20 %.
func (s *Server) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*s.random()))
}

// createJob creates a job for a valid input and starts its simulated work. The returned
// channel tells when its creation is committed to the database.
func (s *Server) createJob(action string, input map[string]any, failCode string) (*jobRec, <-chan error) {
	spec, _ := catalog.Lookup(action)
	now := time.Now()
	lat := s.jitter(s.opts.Latency)
	ts := s.opts.Clock.Now().Unix()
	j := &jobRec{job: job{
		ID: uuid.NewString(), Type: spec.JobType, Action: action, Status: catalog.JobQueued,
		Input: input, Payload: map[string]any{"phase": string(catalog.JobQueued)},
		CreatedAt: ts, UpdatedAt: ts,
		StartAt: now.Add(lat / 4).UnixNano(), DueAt: now.Add(lat).UnixNano(), FailCode: failCode,
	}, changed: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	imageErr := catalog.ImageJobError(action, input)
	switch {
	case failCode != "":
	case imageErr != "":
		j.FailWith = imageErr
	case mentionsFail(input):
		j.FailWith = FailLog
	case s.failedFirst < s.opts.FailFirst:
		s.failedFirst++
		j.FailWith = failFirstLog
	case s.opts.FailRate > 0 && s.random() < s.opts.FailRate:
		j.FailWith = randomFailLog
	}
	s.evictLocked()
	s.jobs[j.ID] = j
	committed := s.saveJobLocked(j)
	s.scheduleLocked(j)
	return j, committed
}

func mentionsFail(input map[string]any) bool {
	for _, k := range []string{"url", "prompt"} {
		if v, ok := input[k].(string); ok && failWordRe().MatchString(v) {
			return true
		}
	}
	return false
}

func (s *Server) saveJobLocked(j *jobRec) <-chan error {
	doc, _ := json.Marshal(&j.job)
	return s.db.put(writeOp{table: "jobs", id: j.ID, doc: doc, status: string(j.Status),
		terminal: j.terminal(), updated: j.UpdatedAt})
}

// scheduleLocked arms the timer of the job's next transition.
func (s *Server) scheduleLocked(j *jobRec) {
	if j.terminal() || s.ctx.Err() != nil {
		return
	}
	at := j.StartAt
	if j.Status == catalog.JobProcessing {
		at = j.DueAt
	}
	j.timer = time.AfterFunc(time.Until(time.Unix(0, at)), func() { s.advanceJob(j) })
}

// advanceJob moves a job one step: queued -> processing -> completed | failed.
func (s *Server) advanceJob(j *jobRec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil || j.terminal() {
		return
	}
	switch j.Status {
	case catalog.JobQueued:
		j.Status = catalog.JobProcessing
		j.Payload = map[string]any{"phase": string(catalog.JobProcessing)}
	case catalog.JobProcessing:
		s.finishLocked(j)
	}
	j.UpdatedAt = s.opts.Clock.Now().Unix()
	s.saveJobLocked(j)
	close(j.changed)
	j.changed = make(chan struct{})
	s.scheduleLocked(j)
}

func (s *Server) finishLocked(j *jobRec) {
	if j.FailWith != "" {
		j.Status = catalog.JobFailed
		j.Payload = map[string]any{"phase": string(catalog.JobFailed)}
		j.ErrorLog = j.FailWith
		return
	}
	if j.FailCode != "" {
		// The worker's own checks (a bad source job): no error_log, only failure_code.
		j.Status = catalog.JobFailed
		j.Payload = map[string]any{"phase": string(catalog.JobFailed), "failure_code": j.FailCode}
		return
	}
	j.Status = catalog.JobCompleted
	s.complete(j)
}

// brandID derives the brand from what it is extracted from: the same url (or the same
// images) gives the same brand id, as re-extracting the same site would.
func brandID(input map[string]any) string {
	var key string
	switch {
	case input["url"] != nil:
		u, _ := input["url"].(string)
		key = "url:" + strings.TrimSuffix(strings.ToLower(u), "/")
	case input["logoBase64"] != nil:
		key = fmt.Sprintf("logo:%x", sha256.Sum256([]byte(fmt.Sprint(input["logoBase64"]))))
	default:
		key = fmt.Sprintf("images:%x", sha256.Sum256([]byte(fmt.Sprint(input["imagesBase64"]))))
	}
	return uuid.NewSHA1(brandNamespace, []byte(key)).String()
}

// jobData is the job in the API's `data` shape.
func jobData(j *job) map[string]any {
	return map[string]any{
		"id": j.ID, "org_id": OrgID, "type": j.Type, "status": j.Status, "payload": j.Payload,
		"result_url": nilIfEmpty(j.ResultURL), "error_log": nilIfEmpty(j.ErrorLog),
		"created_at": j.CreatedAt, "updated_at": j.UpdatedAt,
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) handleCreateJob(a *catalog.Action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in, e := readObject(w, r)
		if e != nil {
			s.writeError(w, r, endpointError(a, e))
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if !a.Idempotent || key == "" {
			s.createFromEndpoint(w, r, a, in, nil)
			return
		}
		// The same key with the same body replays the first answer; with another body it is
		// refused (PI-API.md, Idempotency). Keyed creations are serialised, so two requests
		// with one key cannot both create a job.
		s.idemMu.Lock()
		defer s.idemMu.Unlock()
		sum := bodySum(a.Endpoint, in)
		if prev, seen := s.idem.get(key); seen {
			if prev.sum != sum {
				s.writeError(w, r, &apiError{status: http.StatusConflict, typ: errInvalidRequest, code: "idempotency_key_mismatch",
					message: "Idempotency-Key was already used with a different request payload.", param: "Idempotency-Key"})
				return
			}
			w.Header().Set("X-Idempotency-Replayed", "true")
			s.writeEnvelope(w, r, http.StatusAccepted, "job", map[string]any{"job_id": prev.jobID})
			return
		}
		s.createFromEndpoint(w, r, a, in, func(jobID string) { s.idem.put(key, idemEntry{sum: sum, jobID: jobID}) })
	}
}

// createFromEndpoint checks an endpoint's body as the server does (schema, then the source
// job) and creates the job; created, when not nil, learns its id.
func (s *Server) createFromEndpoint(w http.ResponseWriter, r *http.Request, a *catalog.Action, in map[string]any, created func(string)) {
	clean, issues := a.Parse(s.ownImagesAsHTTPS(in))
	if len(issues) > 0 {
		s.writeError(w, r, endpointError(a, invalidBody(issues)))
		return
	}
	if code := s.sourceProblem(a, clean); code != "" {
		s.writeError(w, r, sourceError(a, code))
		return
	}
	j, committed := s.createJob(a.Name, clean, "")
	if err := <-committed; err != nil {
		s.writeError(w, r, &apiError{status: http.StatusInternalServerError, typ: errAPI, code: "job_create_failed",
			message: "Could not create the job; it was not created, retry."})
		return
	}
	if created != nil {
		created(j.ID)
	}
	s.writeEnvelope(w, r, http.StatusAccepted, "job", map[string]any{"job_id": j.ID})
}

// jobField reports whether `fields=` may keep the column name (unknown names are dropped).
func jobField(name string) bool {
	switch name {
	case "id", "org_id", "type", "status", "payload", "result_url", "error_log", "created_at", "updated_at":
		return true
	}
	return false
}

// jobQuery reads the query of GET /jobs/:id: any bad value is invalid_expand_param
// (PI-API.md, Jobs), a bad timeout_seconds too.
func jobQuery(r *http.Request) (p waitParams, expand bool, fields []string, e *apiError) {
	bad := badRequest("invalid_expand_param", "Invalid query parameters.")
	p, e = parseWait(r)
	if e != nil {
		return p, false, nil, bad
	}
	q := r.URL.Query()
	for _, name := range []string{"expand", "include"} {
		vs, ok := q[name]
		if !ok {
			continue
		}
		if len(vs) > 1 || vs[0] != "brand" {
			return p, false, nil, bad
		}
		expand = true
	}
	if vs, ok := q["fields"]; ok {
		if len(vs) > 1 {
			return p, false, nil, bad
		}
		fields = []string{}
		for _, name := range strings.Split(vs[0], ",") {
			if name = strings.TrimSpace(name); jobField(name) {
				fields = append(fields, name)
			}
		}
	}
	return p, expand, fields, nil
}

func (s *Server) handleGetJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !catalog.IsUUID(id) {
		s.writeError(w, r, badRequest("invalid_job_id", "Invalid job id: expected a uuid."))
		return
	}
	p, expand, fields, e := jobQuery(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	j, err := s.findJob(strings.ToLower(id))
	if err != nil {
		s.writeError(w, r, &apiError{status: http.StatusInternalServerError, typ: errAPI, code: "job_lookup_failed",
			message: "Could not read the job; retry."})
		return
	}
	if j == nil {
		s.writeError(w, r, &apiError{status: http.StatusNotFound, typ: errInvalidRequest, code: "job_not_found", message: "Not found."})
		return
	}
	s.longPoll(r.Context(), p, func() (bool, <-chan struct{}) { return j.terminal(), j.changed })
	s.mu.Lock()
	snap := j.job
	s.mu.Unlock()
	data := jobData(&snap)
	if fields != nil {
		kept := map[string]any{}
		for _, f := range fields {
			kept[f] = data[f]
		}
		data = kept
	}
	// job_result and the expansion are not columns: fields= does not remove them.
	if res := jobResult(&snap); res != nil {
		data["job_result"] = res
		if expand {
			brand := expandBrand(&snap)
			res["brand"] = brand
			data["expanded"] = map[string]any{"brand": brand}
		}
	}
	s.writeEnvelope(w, r, http.StatusOK, "job", data)
}

// expandBrand is the simulated brand of a finished extraction (nil otherwise).
func expandBrand(j *job) any {
	id := brandOf(j)
	if id == "" {
		return nil
	}
	src, _ := j.Input["url"].(string)
	name := "Sandbox Brand"
	if u, err := url.Parse(src); err == nil && u.Hostname() != "" {
		host := strings.TrimPrefix(u.Hostname(), "www.")
		name = strings.ToUpper(host[:1]) + host[1:]
	}
	sum := sha256.Sum256([]byte(id))
	return map[string]any{
		"id": id, "name": name, "url": nilIfEmpty(src),
		"colors":   []string{fmt.Sprintf("#%x", sum[0:3]), fmt.Sprintf("#%x", sum[3:6]), fmt.Sprintf("#%x", sum[6:9])},
		"fonts":    []string{"Inter"},
		"logo_url": "https://cdn.example.test/brands/" + id + "/logo.png",
	}
}
