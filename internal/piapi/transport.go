package piapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/safe"
)

// Bounds of every API request (README, "Limits and guarantees").
const (
	// createTimeout bounds one POST that creates a run or a job.
	createTimeout = 60 * time.Second
	// maxBody is the most of an answer pi reads; a longer one is malformed.
	maxBody = 16 << 20
)

// HonoursIdempotencyKey reports whether the endpoint of action replays a repeated
// Idempotency-Key instead of creating a second job. brands.extract (and POST /runs) do
// not: a lost answer there must never be retried.
// The catalog owns which ones do (PI-API.md, "Idempotency").
func HonoursIdempotencyKey(action string) bool {
	spec, ok := catalog.Lookup(action)
	return ok && spec.Idempotent
}

// request is one API call, as do tries it.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	timeout      time.Duration // of each try, inside the caller's context
	object       string        // what a POST creates, for "the job may have been created"
	idemKey      string        // "" for a new one
	idempotent   bool          // the endpoint replays a repeated idemKey
	check        func() error  // the decoded data has the documented shape
}

// refuseRedirect stops net/http from following redirects: the answer comes back as it is
// and becomes an error naming the Location. Following one could send the key to another
// host, port or scheme, or replay a POST.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// do tries rq until it succeeds, fails for good, runs out of attempts or the caller's
// context ends. The context owns every wait: a Retry-After that would end past its
// deadline is not waited for, and Ctrl-C ends a wait at once (the error then wraps the
// context's, so the exit code is the interruption's, not an API error's).
func (c *Client) do(ctx context.Context, rq request, out any) (string, error) {
	if rq.method == http.MethodPost && rq.idemKey == "" {
		rq.idemKey = uuid.NewString()
	}
	mayExist := false
	var last *Error
	for attempt := 1; ; attempt++ {
		// The process's limiter of this origin lets the try go (docs/running.md, Pacing).
		p, err := c.cfg.Limiter.acquire(ctx, rq.query.Get("wait_for_completion") == "true")
		if err != nil {
			var paced *Error
			if errors.As(err, &paced) {
				return "", paced
			}
			return "", stopped(ctx, last)
		}
		if p.waited > 0 {
			c.debugf("%s %s held %s by the rate limit (%s)", rq.method, rq.path, p.waited.Round(time.Millisecond), p.why)
		}
		rid, err := c.once(ctx, rq, out, p)
		if err == nil {
			return rid, nil
		}
		var apiErr *Error
		if !errors.As(err, &apiErr) {
			return rid, err
		}
		if rq.method == http.MethodPost && apiErr.ambiguous() {
			mayExist = true
		}
		if mayExist {
			apiErr.MayExist, apiErr.Object, apiErr.IdempotencyKey = true, rq.object, rq.idemKey
		}
		last = apiErr
		if ctx.Err() != nil {
			return rid, stopped(ctx, apiErr)
		}
		if !c.retryable(rq, apiErr) || attempt >= c.cfg.MaxAttempts {
			return rid, apiErr
		}
		// A Retry-After is capped (backoff.MaxRetryAfter) when it is read.
		wait := backoff.API.Wait(attempt, rand.Float64(), apiErr.RetryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return rid, apiErr // waiting would pass the deadline: the error is the answer
		}
		if err := clock.Sleep(ctx, c.cfg.Clock, wait); err != nil {
			return rid, stopped(ctx, apiErr)
		}
	}
}

// StoppedError is a request cut off by its caller's context (Ctrl-C, --timeout). It
// unwraps to the context's error only, so it maps to the interruption's exit code; Last is
// what the server said before.
type StoppedError struct {
	Cause error
	Last  *Error
}

func (e *StoppedError) Error() string {
	if e.Last == nil {
		return e.Cause.Error()
	}
	return fmt.Sprintf("%v (last answer: %v)", e.Cause, e.Last)
}

func (e *StoppedError) Unwrap() error { return e.Cause }

func stopped(ctx context.Context, last *Error) error {
	cause := context.Cause(ctx)
	if cause == nil {
		cause = ctx.Err()
	}
	if !errors.Is(cause, ctx.Err()) {
		cause = fmt.Errorf("%w: %w", ctx.Err(), cause)
	}
	return &StoppedError{Cause: cause, Last: last}
}

// ambiguous reports a failure after the request was sent, whose answer was lost: the
// server may have acted on it.
func (e *Error) ambiguous() bool {
	switch {
	case e.network:
		return e.sent
	case e.malformed:
		return true
	}
	return e.HTTPStatus == http.StatusBadGateway || e.HTTPStatus == http.StatusGatewayTimeout
}

func (c *Client) retryable(rq request, e *Error) bool {
	if !e.Transient() {
		return false
	}
	if rq.method != http.MethodPost || rq.idempotent {
		return true // a GET, or a POST the server replays for the same key
	}
	switch {
	case e.network:
		return !e.sent
	case e.HTTPStatus == 429, e.HTTPStatus == 503:
		return true
	case e.HTTPStatus == 500 && e.Code == "run_create_failed":
		return true
	}
	return false
}

// certError reports a TLS failure no retry can fix.
func certError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &rh)
}

// redactedError is a network error whose text went through the redactor (a proxy can
// echo anything, and net/http quotes URLs).
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (c *Client) netError(err error, sent bool) *Error {
	return &Error{network: true, sent: sent, permanent: certError(err),
		err: &redactedError{msg: safe.Text(c.redact.String(err.Error())), err: err}}
}

// once makes one try of rq, which the limiter let go with p, and returns the request id
// of the answer.
func (c *Client) once(ctx context.Context, rq request, out any, p *permit) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, rq.timeout)
	defer cancel()
	// sent turns true once the headers are on a connection: a failure before that (refused,
	// DNS, a TLS handshake) cannot have reached the server's handler.
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { sent.Store(true) }})
	req, err := c.newRequest(ctx, rq)
	if err != nil {
		p.done(0, nil)
		return "", err
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		p.done(0, nil)
		c.debugf("%s %s -> error %v (%s)", rq.method, req.URL.Redacted(), err, time.Since(start).Round(time.Millisecond))
		return "", c.netError(err, sent.Load())
	}
	defer resp.Body.Close()
	p.done(resp.StatusCode, resp.Header)
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		c.debugf("%s %s -> %d, reading the answer: %v", rq.method, req.URL.Redacted(), resp.StatusCode, err)
		return "", c.netError(fmt.Errorf("read response: %w", err), true)
	}
	raw = c.redact.JSON(raw)
	var env envelope
	envErr := json.Unmarshal(raw, &env)
	rid := safe.Text(env.ID)
	if env.Error != nil && env.Error.RequestID != "" {
		rid = safe.Text(env.Error.RequestID)
	}
	if rid == "" {
		rid = safe.Text(c.redact.String(resp.Header.Get("X-Request-Id")))
	}
	c.debugf("%s %s -> %d (%s) request id %s", rq.method, req.URL.Redacted(), resp.StatusCode, time.Since(start).Round(time.Millisecond), rid)
	if err := c.statusError(resp, &env, rid); err != nil {
		return rid, err
	}
	if out == nil {
		return rid, nil
	}
	if why := decode(rq, raw, &env, envErr, out); why != "" {
		return rid, &Error{HTTPStatus: resp.StatusCode, Code: "malformed_response", RequestID: rid, malformed: true,
			Message: fmt.Sprintf("the answer to %s %s is not the documented shape (%s): %s", rq.method, rq.path, why, excerpt(raw))}
	}
	return rid, nil
}

// newRequest is rq as an HTTP request to the API, with its headers.
func (c *Client) newRequest(ctx context.Context, rq request) (*http.Request, error) {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + rq.path
	u.RawQuery = rq.query.Encode()
	var rd io.Reader
	if rq.body != nil {
		rd = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if rq.method == http.MethodPost {
		// net/http silently resends a request carrying Idempotency-Key when a reused
		// connection dies; without GetBody it cannot, so only this code decides on resends.
		req.GetBody = nil
		req.Header.Set("Idempotency-Key", rq.idemKey)
	}
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	if rq.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", c.cfg.UserAgent)
	}
	return req, nil
}

// statusError is the *Error of an answer that is a redirect (never followed) or an API
// error, nil for a success.
func (c *Client) statusError(resp *http.Response, env *envelope, rid string) error {
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc := safe.Text(c.redact.String(resp.Header.Get("Location")))
		if loc == "" {
			loc = "(no Location)"
		}
		return &Error{HTTPStatus: resp.StatusCode, RequestID: rid, Location: loc, permanent: true}
	}
	if resp.StatusCode < 400 {
		return nil
	}
	e := &Error{HTTPStatus: resp.StatusCode, RequestID: rid, RetryAfter: backoff.RetryAfter(resp.Header.Get("Retry-After"), clock.Or(c.cfg.Clock).Now(), backoff.MaxRetryAfter, time.Time{})}
	if env.Error != nil {
		e.Type, e.Code, e.Message = safe.Text(env.Error.Type), safe.Text(env.Error.Code), safe.Text(env.Error.Message)
		e.Param, e.Issues = safe.Text(env.Error.Param), env.Error.Issues
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// decode reads a success's data into out and checks its shape; it returns why the answer
// is not the documented shape, "" when it is.
func decode(rq request, raw []byte, env *envelope, envErr error, out any) string {
	switch {
	case len(raw) > maxBody:
		return fmt.Sprintf("longer than %d MiB", maxBody>>20)
	case envErr != nil:
		return "not JSON"
	case len(env.Data) == 0 || string(env.Data) == "null":
		return "no data"
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return err.Error()
	}
	if rq.check != nil {
		if err := rq.check(); err != nil {
			return err.Error()
		}
	}
	return ""
}

// excerpt is the start of a body, for an error message.
func excerpt(raw []byte) string {
	const n = 120
	s := string(raw)
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strconv.Quote(safe.Text(s))
}

func (c *Client) debugf(format string, args ...any) {
	if c.cfg.Debug == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if c.cfg.APIKey != "" {
		msg = strings.ReplaceAll(msg, c.cfg.APIKey, "[redacted]")
	}
	fmt.Fprintln(c.cfg.Debug, "debug: "+safe.Text(safe.SecretsText(c.redact.String(msg))))
}
