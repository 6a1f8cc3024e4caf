package sandbox

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/pi-cli/pi/internal/catalog"
)

// Error types of the error envelope (PI-API.md, Envelopes).
const (
	errInvalidRequest = "invalid_request_error"
	errAuthentication = "authentication_error"
	errRateLimit      = "rate_limit_error"
	errAPI            = "api_error"
)

// maxBody bounds a request body; base64 images make bodies large, but not unbounded.
const maxBody = 16 << 20

type ctxKey struct{}

// requestID returns the id ServeHTTP gave the request.
func requestID(r *http.Request) string {
	id, _ := r.Context().Value(ctxKey{}).(string)
	return id
}

// apiError is an error answer: HTTP status and the envelope's type, code and message.
type apiError struct {
	status  int
	typ     string
	code    string
	message string
	// param names what is wrong (the dotted path of the first issue, a header); issues
	// is zod's list for a body that fails its schema.
	param  string
	issues []catalog.Issue
}

func badRequest(code, format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: errInvalidRequest, code: code, message: fmt.Sprintf(format, a...)}
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /api/v1/runs", s.handleCreateRun)
	m.HandleFunc("GET /api/v1/runs/{id}", s.handleGetRun)
	for _, a := range catalog.Server() {
		m.HandleFunc("POST "+a.Endpoint, s.handleCreateJob(a))
	}
	m.HandleFunc("GET /api/v1/jobs/{id}", s.handleGetJob)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &apiError{status: http.StatusNotFound, typ: errInvalidRequest, code: "not_found", message: fmt.Sprintf("No route for %s %s.", r.Method, r.URL.Path)})
	})
	s.mux = m
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP answers like the Pi server: request id, authentication, rate limit, faults,
// then the route.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := "req_pi_" + uuid.NewString()
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	w := &statusWriter{ResponseWriter: rw}
	w.Header().Set("X-Request-Id", id)
	defer s.logRequest(r, w, id, start)
	if strings.HasPrefix(r.URL.Path, filesPrefix) {
		// The public bucket: no key, no rate limit, no envelope.
		s.serveFile(w, r)
		return
	}

	if e := s.authenticate(r); e != nil {
		s.writeError(w, r, e)
		return
	}
	if e := s.limit(w); e != nil {
		s.writeError(w, r, e)
		return
	}
	if s.opts.ErrorRate > 0 && s.random() < s.opts.ErrorRate {
		s.writeError(w, r, &apiError{status: http.StatusServiceUnavailable, typ: errAPI, code: "service_unavailable", message: "Service temporarily unavailable (simulated by --error-rate). Nothing was done; retry."})
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) logRequest(r *http.Request, w *statusWriter, id string, start time.Time) {
	if s.opts.Logger == nil {
		return
	}
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	// The query is logged, the Authorization header never is.
	line := fmt.Sprintf("%s %s %s %d %s %s\n", start.UTC().Format(time.RFC3339), r.Method,
		r.URL.RequestURI(), status, time.Since(start).Round(time.Microsecond), id)
	s.logMu.Lock()
	defer s.logMu.Unlock()
	_, _ = io.WriteString(s.opts.Logger, line)
}

// StatusCounter is a Logger that counts the requests the sandbox logs (logRequest's lines:
// the status is the fourth field) and the 429s among them: what the pacing benchmarks
// measure of a client.
type StatusCounter struct {
	mu                sync.Mutex
	requests, limited int
}

func (c *StatusCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for line := range strings.Lines(string(p)) {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		c.requests++
		if f[3] == strconv.Itoa(http.StatusTooManyRequests) {
			c.limited++
		}
	}
	return len(p), nil
}

// Counts is how many requests were logged, and how many of them were answered 429.
func (c *StatusCounter) Counts() (requests, limited int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests, c.limited
}

func (s *Server) authenticate(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	if h == "" {
		return &apiError{status: http.StatusUnauthorized, typ: errAuthentication, code: "missing_authorization_header", message: "Missing Authorization header. Use Bearer <api_key>."}
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return &apiError{status: http.StatusUnauthorized, typ: errAuthentication, code: "invalid_authorization_scheme", message: "Invalid Authorization scheme. Use Bearer <api_key>."}
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return &apiError{status: http.StatusUnauthorized, typ: errAuthentication, code: "missing_bearer_token", message: "Missing bearer token. Use Bearer <api_key>."}
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.APIKey)) != 1 {
		return &apiError{status: http.StatusUnauthorized, typ: errAuthentication, code: "unkey_not_found", message: "API key not found."}
	}
	return nil
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	body := map[string]any{"type": e.typ, "code": e.code, "message": e.message, "request_id": requestID(r)}
	if e.param != "" {
		body["param"] = e.param
	}
	if e.issues != nil {
		body["issues"] = e.issues
	}
	writeJSON(w, e.status, map[string]any{"error": body})
}

// envelope is the success envelope. Its status is not the object's: "queued" on a create
// (202), "completed" on every read (PI-API.md, Envelopes).
type envelope struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Status    string `json:"status"`
	CreatedAt int64  `json:"created_at"`
	Data      any    `json:"data"`
}

func (s *Server) writeEnvelope(w http.ResponseWriter, r *http.Request, status int, object string, data any) {
	envStatus := "completed"
	if status == http.StatusAccepted {
		envStatus = "queued"
	}
	writeJSON(w, status, envelope{
		ID: requestID(r), Object: object, Status: envStatus, CreatedAt: s.opts.Clock.Now().Unix(), Data: data,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"type":"api_error","code":"internal_error","message":"Could not encode the answer."}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// readObject reads a JSON object body: invalid_json_body when it is not JSON,
// invalid_request_body (zod's "Expected object, received array", no param) when it is
// JSON but not an object.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]any, *apiError) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, badRequest("invalid_json_body", "Could not read the request body: %v.", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, badRequest("invalid_json_body", "Request body must be valid JSON.")
	}
	if issues := catalog.ObjectIssue(v); issues != nil {
		return nil, invalidBody(issues)
	}
	return v.(map[string]any), nil
}

// waitParams are the long-poll query parameters of GET /runs/:id and /jobs/:id.
type waitParams struct {
	wait    bool
	timeout time.Duration
}

func parseWait(r *http.Request) (waitParams, *apiError) {
	q := r.URL.Query()
	p := waitParams{wait: q.Get("wait_for_completion") == "true", timeout: 20 * time.Second}
	if vs, ok := q["timeout_seconds"]; ok {
		n, err := strconv.Atoi(vs[0])
		if err != nil || n < 1 || n > 30 || len(vs) > 1 || strings.TrimSpace(vs[0]) != vs[0] || strings.HasPrefix(vs[0], "+") {
			return p, badRequest("invalid_query_params", "Invalid query parameters.")
		}
		p.timeout = time.Duration(n) * time.Second
	}
	return p, nil
}

// longPoll waits until done reports true, the timeout passes, the request ends or the
// server drains. state returns whether the object is terminal and the channel closed at its
// next change, read under s.mu, so no change can slip between the check and the wait.
func (s *Server) longPoll(ctx context.Context, p waitParams, state func() (bool, <-chan struct{})) {
	if !p.wait {
		return
	}
	timer := time.NewTimer(scaled(p.timeout, s.opts.TimeScale))
	defer timer.Stop()
	for {
		s.mu.Lock()
		done, changed := state()
		s.mu.Unlock()
		if done {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		case <-s.draining:
			return
		}
	}
}
