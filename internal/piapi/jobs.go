package piapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/pi-cli/pi/internal/catalog"
)

// Job is one action job of the API (GET /api/v1/jobs/:id).
type Job struct {
	ID, OrgID, Type, ResultURL, ErrorLog string
	Status                               catalog.JobStatus
	Payload                              map[string]any
	CreatedAt, UpdatedAt                 time.Time
}

type jobJSON struct {
	ID        string            `json:"id"`
	OrgID     string            `json:"org_id"`
	Type      string            `json:"type"`
	Status    catalog.JobStatus `json:"status"`
	ResultURL *string           `json:"result_url"`
	ErrorLog  *string           `json:"error_log"`
	Payload   map[string]any    `json:"payload"`
	CreatedAt json.Number       `json:"created_at"`
	UpdatedAt json.Number       `json:"updated_at"`
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

// CreateJob posts input to the endpoint of a Pi action and returns the job id, with a new
// Idempotency-Key (see CreateJobWithKey).
func (c *Client) CreateJob(ctx context.Context, action string, input map[string]any) (string, error) {
	return c.CreateJobWithKey(ctx, action, input, "")
}

// CreateJobWithKey is CreateJob with the Idempotency-Key of this job creation ("" for a
// new one): a caller that tries the same creation again passes the same key. On endpoints
// that honour the key (HonoursIdempotencyKey) a lost answer is retried, since the server
// replays the first answer instead of creating a second job; on the others it retries only
// when the job surely was not created, as CreateRun does.
func (c *Client) CreateJobWithKey(ctx context.Context, action string, input map[string]any, key string) (string, error) {
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
	if _, err := c.do(ctx, request{method: http.MethodPost, path: spec.Endpoint, body: body, timeout: createTimeout,
		object: "job", idemKey: key, idempotent: HonoursIdempotencyKey(action),
		check: func() error {
			if out.JobID == "" {
				return errors.New("no data.job_id")
			}
			return nil
		}}, &out); err != nil {
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
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/jobs/" + url.PathEscape(id), query: q, timeout: httpTimeout,
		check: func() error {
			if j.Status == "" {
				return errors.New("no data.status")
			}
			return nil
		}}, &j); err != nil {
		return nil, err
	}
	return &Job{ID: j.ID, OrgID: j.OrgID, Type: j.Type, Status: j.Status, ResultURL: deref(j.ResultURL),
		ErrorLog: deref(j.ErrorLog), Payload: j.Payload, CreatedAt: unixTime(j.CreatedAt), UpdatedAt: unixTime(j.UpdatedAt)}, nil
}
