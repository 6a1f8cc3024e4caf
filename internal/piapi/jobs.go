package piapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/pi-cli/pi/internal/catalog"
)

// Job is one action job of the API (GET /api/v1/jobs/:id).
type Job struct {
	ID, OrgID, Type, Status, ResultURL, ErrorLog string
	Payload                                      map[string]any
	CreatedAt, UpdatedAt                         time.Time
}

// Terminal reports whether the job ended (completed or failed).
func (j *Job) Terminal() bool { return j.Status == "completed" || j.Status == "failed" }

type jobJSON struct {
	ID        string         `json:"id"`
	OrgID     string         `json:"org_id"`
	Type      string         `json:"type"`
	Status    string         `json:"status"`
	ResultURL *string        `json:"result_url"`
	ErrorLog  *string        `json:"error_log"`
	Payload   map[string]any `json:"payload"`
	CreatedAt json.Number    `json:"created_at"`
	UpdatedAt json.Number    `json:"updated_at"`
}

func unixTime(n json.Number) time.Time {
	if v, err := n.Int64(); err == nil && v > 0 {
		return time.Unix(v, 0)
	}
	return time.Time{}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// CreateJob posts input to the endpoint of a Pi action and returns the job id. It retries as
// CreateRun does: only when the job surely was not created.
func (c *Client) CreateJob(ctx context.Context, action string, input map[string]any) (string, error) {
	spec, ok := catalog.Lookup(action)
	if !ok || spec.Endpoint == "" {
		return "", fmt.Errorf("action %q has no Pi API endpoint", action)
	}
	body, err := json.Marshal(input)
	if err != nil {
		return "", fmt.Errorf("encode %s input: %w", action, err)
	}
	var out struct {
		JobID string `json:"job_id"`
	}
	if _, err := c.do(ctx, http.MethodPost, spec.Endpoint, nil, body, 60*time.Second, &out); err != nil {
		return "", err
	}
	return out.JobID, nil
}

// GetJob reads a job; with wait the server long-polls up to timeout (1..30 s). expand is
// "", "brand" or "ad".
func (c *Client) GetJob(ctx context.Context, id string, wait bool, timeout time.Duration, expand string) (*Job, error) {
	q := url.Values{}
	httpTimeout := 30 * time.Second
	if wait {
		secs := max(1, min(30, int(timeout/time.Second)))
		q.Set("wait_for_completion", "true")
		q.Set("timeout_seconds", strconv.Itoa(secs))
		httpTimeout = time.Duration(secs)*time.Second + 15*time.Second
	}
	if expand != "" {
		q.Set("expand", expand)
	}
	var j jobJSON
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), q, nil, httpTimeout, &j); err != nil {
		return nil, err
	}
	return &Job{ID: j.ID, OrgID: j.OrgID, Type: j.Type, Status: j.Status, ResultURL: deref(j.ResultURL),
		ErrorLog: deref(j.ErrorLog), Payload: j.Payload, CreatedAt: unixTime(j.CreatedAt), UpdatedAt: unixTime(j.UpdatedAt)}, nil
}
