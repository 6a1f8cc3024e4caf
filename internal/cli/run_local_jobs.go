package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/pi-cli/pi/internal/actions"
	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/pipeline"
)

// jobsHTTP is the Pi jobs API (each action's own endpoint, GET /api/v1/jobs/:id) as the
// local engine's Pi actions need it. It retries nothing itself: the engine's retry policy
// decides, from whether an error is transient.
type jobsHTTP struct {
	base, key string
	client    *http.Client
}

type jobEnvelope struct {
	Data struct {
		JobID     string         `json:"job_id"`
		ID        string         `json:"id"`
		Type      string         `json:"type"`
		Status    string         `json:"status"`
		ResultURL string         `json:"result_url"`
		ErrorLog  string         `json:"error_log"`
		Payload   map[string]any `json:"payload"`
	} `json:"data"`
}

func (j *jobsHTTP) CreateJob(ctx context.Context, action string, input map[string]any) (string, error) {
	spec, ok := pipeline.LookupAction(action)
	if !ok || spec.Endpoint == "" {
		return "", engine.Permanent(fmt.Errorf("action %s has no Pi endpoint", action))
	}
	body, err := json.Marshal(input)
	if err != nil {
		return "", engine.Permanent(fmt.Errorf("encoding input: %w", err))
	}
	var env jobEnvelope
	if err := j.do(ctx, http.MethodPost, spec.Endpoint, nil, body, &env); err != nil {
		return "", err
	}
	if env.Data.JobID == "" {
		return "", engine.Transient(fmt.Errorf("POST %s: the response has no data.job_id", spec.Endpoint))
	}
	return env.Data.JobID, nil
}

func (j *jobsHTTP) WaitJob(ctx context.Context, id string) (*actions.Job, error) {
	q := url.Values{"wait_for_completion": {"true"}, "timeout_seconds": {"20"}}
	var env jobEnvelope
	if err := j.do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), q, nil, &env); err != nil {
		return nil, err
	}
	d := env.Data
	return &actions.Job{ID: d.ID, Type: d.Type, Status: d.Status, ResultURL: d.ResultURL, ErrorLog: d.ErrorLog, Payload: d.Payload}, nil
}

func (j *jobsHTTP) do(ctx context.Context, method, path string, q url.Values, body []byte, out any) error {
	u := j.base + path
	if q != nil {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return engine.Permanent(err)
	}
	req.Header.Set("Authorization", "Bearer "+j.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := j.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return engine.Transient(fmt.Errorf("%s %s: %w", method, path, err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return engine.Transient(fmt.Errorf("%s %s: reading the response: %w", method, path, err))
	}
	if resp.StatusCode >= 300 {
		err := fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			var after time.Duration
			if n, e := strconv.Atoi(resp.Header.Get("Retry-After")); e == nil {
				after = time.Duration(n) * time.Second
			}
			return &engine.StepError{Err: err, Transient: true, RetryAfter: after}
		}
		return engine.Permanent(err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return engine.Transient(fmt.Errorf("%s %s: decoding the response: %w", method, path, err))
	}
	return nil
}
