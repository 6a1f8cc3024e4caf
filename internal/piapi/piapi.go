// Package piapi owns the HTTP client for the Pi API: configuration (flag, environment, config
// file), authentication, the response envelope, typed errors and the retry policy that keeps a
// run from being created twice.
package piapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/pi-cli/pi/internal/run"
)

// Config says where and how to reach the API.
type Config struct {
	BaseURL, APIKey, UserAgent string
	// Debug, when set, receives one line per request and response (the key is never written).
	Debug        io.Writer
	InsecureHTTP bool
	HTTPClient   *http.Client
	// MaxAttempts bounds tries per request (default 5).
	MaxAttempts int
	// Sleep waits between tries; tests replace it so they never wait for real.
	Sleep func(ctx context.Context, d time.Duration) error
}

type fileConfig struct {
	BaseURL string `yaml:"base_url"`
	APIKey  string `yaml:"api_key"`
}

// LoadConfig resolves the base URL (flag > PI_BASE_URL > file) and the key (PI_API_KEY > file).
// An empty configPath means $XDG_CONFIG_HOME/pi/config.yaml (or ~/.config/pi/config.yaml).
func LoadConfig(flagBaseURL, configPath string, getenv func(string) string) (Config, []string, error) {
	var cfg Config
	var warnings []string
	explicit := configPath != ""
	if configPath == "" {
		dir := getenv("XDG_CONFIG_HOME")
		if dir == "" {
			if home := getenv("HOME"); home != "" {
				dir = filepath.Join(home, ".config")
			}
		}
		if dir != "" {
			configPath = filepath.Join(dir, "pi", "config.yaml")
		}
	}
	var fc fileConfig
	if configPath != "" {
		b, err := os.ReadFile(configPath)
		switch {
		case err == nil:
			if err := yaml.Unmarshal(b, &fc); err != nil {
				return cfg, nil, fmt.Errorf("config %s: %w (fix the YAML or pass another --config)", configPath, err)
			}
			if st, err := os.Stat(configPath); err == nil && st.Mode().Perm()&0o077 != 0 {
				warnings = append(warnings, fmt.Sprintf("config %s is readable by others (mode %o): run chmod 600 %s", configPath, st.Mode().Perm(), configPath))
			}
		case errors.Is(err, os.ErrNotExist) && !explicit:
		default:
			return cfg, nil, fmt.Errorf("read config: %w", err)
		}
	}
	cfg.BaseURL = firstNonEmpty(flagBaseURL, getenv("PI_BASE_URL"), fc.BaseURL)
	cfg.APIKey = firstNonEmpty(getenv("PI_API_KEY"), fc.APIKey)
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return cfg, warnings, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Client talks to one Pi API.
type Client struct {
	cfg  Config
	base *url.URL
	hc   *http.Client
}

// New checks cfg and returns a client; https is required unless the host is loopback or
// InsecureHTTP is set.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("no API base URL: set PI_BASE_URL, base_url in the config file, or pass --base-url")
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("base URL %q: expected http(s)://host[:port]", cfg.BaseURL)
	}
	if u.Scheme == "http" && !cfg.InsecureHTTP && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("base URL %q uses plain http to a non-loopback host: use https, or pass --insecure-http if you really mean it", cfg.BaseURL)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	hc := cfg.HTTPClient
	if hc == nil {
		// No client-wide timeout: each request gets a deadline sized to its long-poll.
		hc = &http.Client{Transport: http.DefaultTransport}
	}
	return &Client{cfg: cfg, base: u, hc: hc}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Error is an error answer of the API, or a network failure (HTTPStatus 0).
type Error struct {
	HTTPStatus                     int
	Type, Code, Message, RequestID string
	RetryAfter                     time.Duration
	// MayExist is set when a POST failed after it was sent: the run may have been created.
	MayExist bool
	network  bool
	err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.network {
		fmt.Fprintf(&b, "network error: %v", e.err)
	} else {
		fmt.Fprintf(&b, "API error %d", e.HTTPStatus)
		if e.Code != "" {
			fmt.Fprintf(&b, " %s", e.Code)
		}
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	if e.MayExist {
		b.WriteString("; the run may have been created: check before running again")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.err }

// ExitCode is 4 for every API and network error (DESIGN.md).
func (e *Error) ExitCode() int { return 4 }

// Transient reports whether trying again later may succeed.
func (e *Error) Transient() bool {
	return e.network || e.HTTPStatus == 429 || e.HTTPStatus >= 500
}

type envelope struct {
	ID    string          `json:"id"`
	Data  json.RawMessage `json:"data"`
	Error *struct {
		Type, Code, Message string
		RequestID           string `json:"request_id"`
	} `json:"error"`
}

// CreatedRun is the answer to CreateRun.
type CreatedRun struct {
	RunID  string `json:"run_id"`
	Status string `json:"status"`
	Steps  []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"steps"`
	RequestID string `json:"-"`
}

// CreateRun posts a run body. It retries only when the run surely was not created.
func (c *Client) CreateRun(ctx context.Context, body []byte) (*CreatedRun, error) {
	var out CreatedRun
	rid, err := c.do(ctx, http.MethodPost, "/api/v1/runs", nil, body, 60*time.Second, &out)
	out.RequestID = rid
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetRun reads a run; with wait the server long-polls up to timeout (1..30 s).
func (c *Client) GetRun(ctx context.Context, id string, wait bool, timeout time.Duration) (*run.Run, error) {
	q := url.Values{}
	if wait {
		secs := int(timeout / time.Second)
		secs = max(1, min(30, secs))
		q.Set("wait_for_completion", "true")
		q.Set("timeout_seconds", strconv.Itoa(secs))
		timeout = time.Duration(secs)*time.Second + 15*time.Second
	} else {
		timeout = 30 * time.Second
	}
	var r run.Run
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/runs/"+url.PathEscape(id), q, nil, timeout, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, timeout time.Duration, out any) (string, error) {
	idem := uuid.NewString()
	var last *Error
	for attempt := 1; ; attempt++ {
		rid, err := c.once(ctx, method, path, q, body, idem, timeout, out)
		if err == nil {
			return rid, nil
		}
		var apiErr *Error
		if !errors.As(err, &apiErr) {
			return rid, err
		}
		last = apiErr
		if !c.retryable(method, apiErr) || attempt >= c.cfg.MaxAttempts || ctx.Err() != nil {
			if method == http.MethodPost && (apiErr.network && !apiErr.notSent() || apiErr.HTTPStatus == 502 || apiErr.HTTPStatus == 504) {
				apiErr.MayExist = true
			}
			return rid, last
		}
		if err := c.cfg.Sleep(ctx, backoff(attempt, apiErr.RetryAfter)); err != nil {
			return rid, last
		}
	}
}

// notSent reports a failure before the request reached the server (refused, DNS).
func (e *Error) notSent() bool {
	var op *net.OpError
	if errors.As(e.err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(e.err, &dns)
}

func (c *Client) retryable(method string, e *Error) bool {
	if method != http.MethodPost {
		return e.Transient()
	}
	switch {
	case e.network:
		return e.notSent()
	case e.HTTPStatus == 429, e.HTTPStatus == 503:
		return true
	case e.HTTPStatus == 500 && e.Code == "run_create_failed":
		return true
	}
	return false
}

func backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	d := 250 * time.Millisecond << (attempt - 1)
	d = min(d, 10*time.Second)
	return d/2 + rand.N(d/2+1)
}

func (c *Client) once(ctx context.Context, method, path string, q url.Values, body []byte, idem string, timeout time.Duration, out any) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	if method == http.MethodPost {
		// net/http silently resends a request carrying Idempotency-Key when a reused
		// connection dies; without GetBody it cannot, so only this code decides on resends.
		req.GetBody = nil
	}
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPost {
		req.Header.Set("Idempotency-Key", idem)
	}
	if c.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", c.cfg.UserAgent)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.debugf("%s %s -> error %v (%s)", method, u.Redacted(), err, time.Since(start).Round(time.Millisecond))
		return "", &Error{network: true, err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return "", &Error{network: true, err: fmt.Errorf("read response: %w", err)}
	}
	var env envelope
	_ = json.Unmarshal(raw, &env)
	rid := env.ID
	if env.Error != nil && env.Error.RequestID != "" {
		rid = env.Error.RequestID
	}
	c.debugf("%s %s -> %d (%s) request id %s", method, u.Redacted(), resp.StatusCode, time.Since(start).Round(time.Millisecond), rid)
	if resp.StatusCode >= 300 {
		e := &Error{HTTPStatus: resp.StatusCode, RequestID: rid, RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"))}
		if env.Error != nil {
			e.Type, e.Code, e.Message = env.Error.Type, env.Error.Code, env.Error.Message
		} else {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return rid, e
	}
	if out != nil {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return rid, fmt.Errorf("decode %s %s response (request id %s): %w", method, path, rid, err)
		}
	}
	return rid, nil
}

func (c *Client) debugf(format string, args ...any) {
	if c.cfg.Debug == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if c.cfg.APIKey != "" {
		msg = strings.ReplaceAll(msg, c.cfg.APIKey, "[redacted]")
	}
	fmt.Fprintln(c.cfg.Debug, "debug: "+msg)
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date; 0 when absent,
// malformed or past.
func ParseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}
