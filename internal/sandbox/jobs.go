package sandbox

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pi-cli/pi/internal/catalog"
)

// Job statuses (PI-API.md, Actions).
const (
	jobQueued     = "queued"
	jobProcessing = "processing"
	jobCompleted  = "completed"
	jobFailed     = "failed"
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

var failWord = regexp.MustCompile(`(?i)\b` + FailWord + `\b`)

// brandNamespace derives brand ids: the same source always gives the same brand.
var brandNamespace = uuid.MustParse("6f1c1d3e-8a51-4f0e-9d43-2b7f5f0c9a11")

// job is a simulated job as it is stored.
type job struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Action    string         `json:"action"`
	Status    string         `json:"status"`
	Input     map[string]any `json:"input"`
	Payload   map[string]any `json:"payload"`
	ResultURL string         `json:"result_url,omitempty"`
	ErrorLog  string         `json:"error_log,omitempty"`
	CreatedAt int64          `json:"created_at"`
	UpdatedAt int64          `json:"updated_at"`
	// StartAt and DueAt (unix ns) are when it turns processing and when it ends; FailWith
	// is decided at creation ("" means it completes), so a restart does not change the end.
	StartAt  int64  `json:"start_at_ns"`
	DueAt    int64  `json:"due_at_ns"`
	FailWith string `json:"fail_with,omitempty"`
}

type jobRec struct {
	job
	changed chan struct{} // closed and replaced at every change
	timer   *time.Timer
}

func (j *job) terminal() bool { return j.Status == jobCompleted || j.Status == jobFailed }

// jitter is d ±20 %.
func (s *Server) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*s.random()))
}

// createJob creates a job for a valid input and starts its simulated work. The returned
// channel tells when its creation is committed to the database.
func (s *Server) createJob(action string, input map[string]any) (*jobRec, <-chan error) {
	spec, _ := catalog.Lookup(action)
	now := time.Now()
	lat := s.jitter(s.opts.Latency)
	ts := s.opts.Now().Unix()
	j := &jobRec{job: job{
		ID: uuid.NewString(), Type: spec.JobType, Action: action, Status: jobQueued,
		Input: input, Payload: map[string]any{"phase": jobQueued},
		CreatedAt: ts, UpdatedAt: ts,
		StartAt: now.Add(lat / 4).UnixNano(), DueAt: now.Add(lat).UnixNano(),
	}, changed: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
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
		if v, ok := input[k].(string); ok && failWord.MatchString(v) {
			return true
		}
	}
	return false
}

func (s *Server) saveJobLocked(j *jobRec) <-chan error {
	doc, _ := json.Marshal(&j.job)
	return s.db.put(writeOp{table: "jobs", id: j.ID, doc: doc, status: j.Status,
		terminal: j.terminal(), updated: j.UpdatedAt})
}

// scheduleLocked arms the timer of the job's next transition.
func (s *Server) scheduleLocked(j *jobRec) {
	if j.terminal() || s.ctx.Err() != nil {
		return
	}
	at := j.StartAt
	if j.Status == jobProcessing {
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
	case jobQueued:
		j.Status = jobProcessing
		j.Payload = map[string]any{"phase": jobProcessing}
	case jobProcessing:
		s.finishLocked(j)
	}
	j.UpdatedAt = s.opts.Now().Unix()
	s.saveJobLocked(j)
	close(j.changed)
	j.changed = make(chan struct{})
	s.scheduleLocked(j)
}

func (s *Server) finishLocked(j *jobRec) {
	if j.FailWith != "" {
		j.Status = jobFailed
		j.Payload = map[string]any{"phase": jobFailed}
		j.ErrorLog = j.FailWith
		return
	}
	j.Status = jobCompleted
	if j.Type == "brand_extraction" {
		brand := brandID(j.Input)
		j.Payload = map[string]any{"phase": jobCompleted, "brand_id": brand}
		j.ResultURL = "brands/" + brand
		return
	}
	img := s.imageURL(OrgID, j.ID)
	j.Payload = map[string]any{"phase": jobCompleted, "image_url": img}
	j.ResultURL = img
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

// jobType returns the type of an existing job, "" when there is none.
func (s *Server) jobType(id string) string {
	j, err := s.findJob(strings.ToLower(id))
	if err != nil || j == nil {
		return ""
	}
	return j.Type
}

func (s *Server) handleCreateJob(a *catalog.Action) http.HandlerFunc {
	action := a.Name
	return func(w http.ResponseWriter, r *http.Request) {
		in, e := readObject(w, r)
		if e != nil {
			s.writeError(w, r, e)
			return
		}
		if msg := checkInput(action, in, s.jobType); msg != "" {
			s.writeError(w, r, badRequest("invalid_request_body", "Invalid request body: %s.", msg))
			return
		}
		j, committed := s.createJob(action, in)
		if err := <-committed; err != nil {
			s.writeError(w, r, &apiError{http.StatusInternalServerError, errAPI, "job_create_failed",
				"Could not create the job; it was not created, retry."})
			return
		}
		s.writeEnvelope(w, r, http.StatusAccepted, "job", "queued", map[string]any{"job_id": j.ID})
	}
}

func (s *Server) handleGetJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !isUUID(id) {
		s.writeError(w, r, badRequest("invalid_job_id", "Invalid job id: expected a uuid."))
		return
	}
	p, e := parseWait(r)
	if e != nil {
		s.writeError(w, r, e)
		return
	}
	q := r.URL.Query()
	expand := q.Get("expand")
	if _, ok := q["expand"]; ok && expand != "brand" && expand != "ad" {
		s.writeError(w, r, badRequest("invalid_query_params", "Invalid query parameters."))
		return
	}
	var fields []string
	if f := q.Get("fields"); f != "" {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				fields = append(fields, name)
			}
		}
	}
	j, err := s.findJob(strings.ToLower(id))
	if err != nil {
		s.writeError(w, r, &apiError{http.StatusInternalServerError, errAPI, "job_lookup_failed",
			"Could not read the job; retry."})
		return
	}
	if j == nil {
		s.writeError(w, r, &apiError{http.StatusNotFound, errInvalidRequest, "job_not_found", "Not found."})
		return
	}
	s.longPoll(r.Context(), p, func() (bool, <-chan struct{}) { return j.terminal(), j.changed })
	s.mu.Lock()
	snap := j.job
	s.mu.Unlock()
	data := jobData(&snap)
	switch expand {
	case "brand":
		data["brand"] = expandBrand(&snap)
	case "ad":
		data["ad"] = expandAd(&snap)
	}
	if fields != nil {
		kept := map[string]any{}
		for _, f := range fields {
			if v, ok := data[f]; ok {
				kept[f] = v
			}
		}
		data = kept
	}
	s.writeEnvelope(w, r, http.StatusOK, "job", "completed", data)
}

// expandBrand is the simulated brand of a finished extraction (nil otherwise).
func expandBrand(j *job) any {
	id, _ := j.Payload["brand_id"].(string)
	if j.Type != "brand_extraction" || j.Status != jobCompleted || id == "" {
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

// expandAd is the simulated ad of a finished ad job (nil otherwise).
func expandAd(j *job) any {
	img, _ := j.Payload["image_url"].(string)
	if j.Type == "brand_extraction" || j.Status != jobCompleted || img == "" {
		return nil
	}
	prompt, _ := j.Input["prompt"].(string)
	return map[string]any{
		"job_id": j.ID, "image_url": img, "result_url": nilIfEmpty(j.ResultURL),
		"prompt": nilIfEmpty(prompt),
	}
}
