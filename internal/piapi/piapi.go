// Package piapi owns the HTTP client for the Pi API: configuration (flag, environment, config
// file), authentication, the response envelope, typed errors and the retry policy that keeps a
// run from being created twice.
package piapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/safe"
)

// Config says where and how to reach the API.
type Config struct {
	BaseURL, APIKey, UserAgent string
	// Debug, when set, receives one line per request and response (the key is never written).
	Debug        io.Writer
	InsecureHTTP bool
	HTTPClient   *http.Client
	// MaxAttempts bounds tries per request (default backoff.APIAttempts).
	MaxAttempts int
	// Clock times the waits between tries (nil: the wall clock); tests give a fake one.
	Clock clock.Clock
	// Limiter paces the requests to the API (nil: none). The client factory gives every
	// client of an origin the same one (Limiters.For), so all the runs and rows of a
	// process share the API's rate limit.
	Limiter *Limiter
	// ConfigFile is the config file LoadConfig read (or would have read), for messages.
	ConfigFile string
	// Strict is strict: true in the config file: pi validate takes every warning as an
	// error (its --strict flag wins).
	Strict bool
}

type fileConfig struct {
	BaseURL string `yaml:"base_url"`
	APIKey  string `yaml:"api_key"`
	Strict  bool   `yaml:"strict"`
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
		b, err := readConfigFile(configPath)
		switch {
		case err == nil:
			if err := yaml.Unmarshal(b, &fc); err != nil {
				return cfg, nil, fmt.Errorf("config %s: %w (fix the YAML or pass another --config)", configPath, err)
			}
			warnings = append(warnings, unknownConfigKeys(configPath, b)...)
			if st, err := os.Stat(configPath); err == nil && st.Mode().Perm()&0o077 != 0 {
				warnings = append(warnings, fmt.Sprintf("config %s is readable by others (mode %o): run chmod 600 %s", configPath, st.Mode().Perm(), configPath))
			}
		case errors.Is(err, os.ErrNotExist) && !explicit:
		case errors.As(err, new(*notConfigFile)):
			return cfg, nil, err
		default:
			return cfg, nil, fmt.Errorf("read config: %w", err)
		}
	}
	cfg.BaseURL = firstNonEmpty(flagBaseURL, getenv("PI_BASE_URL"), fc.BaseURL)
	cfg.APIKey = firstNonEmpty(getenv("PI_API_KEY"), fc.APIKey)
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.ConfigFile = configPath
	cfg.Strict = fc.Strict
	return cfg, warnings, nil
}

// MaxConfigSize is the largest config file pi reads: it holds a URL and a key.
const MaxConfigSize = 1 << 20

// notConfigFile is a config path that is not a file pi reads: the message says why.
type notConfigFile struct{ msg string }

func (e *notConfigFile) Error() string { return e.msg }

// readConfigFile reads a config file: a regular file of at most MaxConfigSize. Anything
// else is refused before it is opened: a named pipe nobody writes would block pi (opening
// it waits for a writer), a device such as /dev/zero never ends.
func readConfigFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &notConfigFile{fmt.Sprintf("config %s is not a regular file (%s): --config takes a YAML file", path, fileKind(st.Mode()))}
	}
	if st.Size() > MaxConfigSize {
		return nil, tooLargeConfig(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err == nil && len(b) > MaxConfigSize { // it grew since the Stat
		return nil, tooLargeConfig(path)
	}
	return b, err
}

func tooLargeConfig(path string) error {
	return &notConfigFile{fmt.Sprintf("config %s is larger than %d KiB, more than a config file holds (is it the right file?)", path, MaxConfigSize>>10)}
}

// fileKind names what a file that is not a regular one is.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
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
	cfg    Config
	base   *url.URL
	hc     *http.Client
	redact *safe.Redactor
}

// BaseURL is the API's base URL, as configured.
func (c *Client) BaseURL() string { return c.cfg.BaseURL }

// New checks cfg and returns a client; https is required unless the host is loopback or
// InsecureHTTP is set.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("no API base URL: set PI_BASE_URL, base_url in the config file, or pass --base-url")
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("base URL %q: expected http(s)://host[:port]", safe.Text(safe.SecretsText(cfg.BaseURL)))
	}
	if u.Scheme == "http" && !cfg.InsecureHTTP && !IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("base URL %q uses plain http to a non-loopback host: use https, or pass --insecure-http if you really mean it", safe.SecretsText(cfg.BaseURL))
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = backoff.APIAttempts
	}
	// No client-wide timeout: each request gets a deadline sized to its long-poll, inside
	// the caller's context (--timeout, Ctrl-C). A copy, so a caller's client keeps its own
	// redirect policy for other uses.
	hc := &http.Client{Transport: http.DefaultTransport}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		hc = &cp
	}
	hc.CheckRedirect = refuseRedirect
	return &Client{cfg: cfg, base: u, hc: hc, redact: safe.NewRedactor(cfg.APIKey)}, nil
}

// IsLoopback reports whether host names this machine: localhost (any case) or a loopback
// IP. It is pi's one such test: plain http is allowed to such a base URL, and `pi serve`
// binds to nothing else unless told.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Error is an error answer of the API, or a network failure (HTTPStatus 0). Every string in
// it that came from the server is redacted (the key never shows) when it is built.
type Error struct {
	HTTPStatus                     int
	Type, Code, Message, RequestID string
	// Param is what the server names as wrong: the dotted path of a body's first issue
	// (output.aspect_ratio), or a header (Idempotency-Key). Issues are all of a body's
	// issues, in the server's order.
	Param      string
	Issues     []catalog.Issue
	RetryAfter time.Duration
	// Location is where a redirect pointed (redirects are never followed).
	Location string
	// MayExist is set when a POST failed after it was sent: the run (or job) may have been
	// created.
	MayExist bool
	// Object is what a POST creates ("run", "job"), for the MayExist warning.
	Object string
	// IdempotencyKey is the key a POST was sent with, so an ambiguous failure without a
	// request id can still be traced with the server's operators.
	IdempotencyKey string
	network        bool
	// sent is set once the request's headers were written to a connection: from then on a
	// lost answer is ambiguous.
	sent bool
	// permanent marks failures no retry can fix (a certificate that does not verify).
	permanent bool
	// malformed marks a 2xx answer that is not the documented shape.
	malformed bool
	// paced marks a request the limiter did not send: the API's rate limit lets it go only
	// after the caller's deadline.
	paced bool
	err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.network:
		fmt.Fprintf(&b, "network error: %v", e.err)
	case e.paced:
		fmt.Fprintf(&b, "rate limit: %s", e.Message)
	case e.Location != "":
		fmt.Fprintf(&b, "API error %d: the server redirected to %s; pi does not follow redirects of API requests (the key must not go to another address): set the base URL to the final address", e.HTTPStatus, e.Location)
	default:
		fmt.Fprintf(&b, "API error %d", e.HTTPStatus)
		if e.Code != "" {
			fmt.Fprintf(&b, " %s", e.Code)
		}
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
		if e.Param != "" {
			fmt.Fprintf(&b, " (param %s)", e.Param)
		}
		if len(e.Issues) > 1 {
			b.WriteString("; also")
			for i, is := range e.Issues[1:] {
				if i == 3 {
					fmt.Fprintf(&b, " and %d more", len(e.Issues)-4)
					break
				}
				sep := ","
				if i == 0 {
					sep = ""
				}
				fmt.Fprintf(&b, "%s %s", sep, issueText(is))
			}
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	if e.MayExist {
		obj := e.Object
		if obj == "" {
			obj = "run"
		}
		fmt.Fprintf(&b, "; the %s may have been created: check before running again", obj)
		if e.RequestID == "" && e.IdempotencyKey != "" {
			fmt.Fprintf(&b, " (Idempotency-Key %s)", e.IdempotencyKey)
		}
	}
	return b.String()
}

// issueText is one issue as people read it: "prompt: Required".
func issueText(is catalog.Issue) string {
	if p := is.PathString(); p != "" {
		return safe.Text(p) + ": " + safe.Text(is.Message)
	}
	return safe.Text(is.Message)
}

func (e *Error) Unwrap() error { return e.err }

// ExitCode is 4 for every API and network error (DESIGN.md).
func (e *Error) ExitCode() int { return 4 }

// Transient reports whether trying again later may succeed.
func (e *Error) Transient() bool {
	if e.permanent {
		return false
	}
	return e.network || e.paced || e.HTTPStatus == 429 || e.HTTPStatus >= 500
}

// Ambiguous reports a POST whose answer was lost after it was sent (a reset, a timeout, a
// 502/504): the server may have acted on it.
func (e *Error) Ambiguous() bool { return e.MayExist }

type envelope struct {
	ID    string          `json:"id"`
	Data  json.RawMessage `json:"data"`
	Error *struct {
		Type, Code, Message string
		RequestID           string `json:"request_id"`
		// Param names what is wrong (output.aspect_ratio, Idempotency-Key); Issues is
		// zod's list for a body that failed its schema.
		Param  string          `json:"param"`
		Issues []catalog.Issue `json:"issues"`
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
	rid, err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/runs", body: body, timeout: createTimeout, object: "run",
		check: func() error {
			if out.RunID == "" {
				return errors.New("no data.run_id")
			}
			if !catalog.IsUUID(out.RunID) {
				return fmt.Errorf("data.run_id %q is not a UUID", out.RunID)
			}
			return nil
		}}, &out)
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
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/runs/" + url.PathEscape(id), query: q, timeout: timeout,
		check: func() error {
			if r.Status == "" {
				return errors.New("no data.status")
			}
			return nil
		}}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
