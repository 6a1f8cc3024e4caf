package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/safe"
)

// HTTP is the http.request action. The zero value uses http.DefaultClient.
type HTTP struct {
	Client *http.Client
}

// Execute sends the request and maps the response to {status, headers, json|body}.
func (h *HTTP) Execute(ctx context.Context, req engine.Request) (map[string]any, error) {
	in := req.Input
	url, _ := in["url"].(string)
	if url == "" {
		return nil, engine.Permanent(errors.New("http.request: input url is required"))
	}
	hr, err := httpRequest(ctx, in, url)
	if err != nil {
		return nil, err
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		// The URL's password or token is not shown (net/http's own message hides only a
		// password); the error stays what it is underneath. net/http's *url.Error repeats
		// the method and URL this message starts with: only its cause is added.
		cause := err
		var ue *neturl.Error
		if errors.As(err, &ue) {
			cause = ue.Err
		}
		msg := fmt.Sprintf("http.request: %s %s: %s", hr.Method, safe.SecretsText(url), safe.SecretsText(cause.Error()))
		return nil, engine.Transient(&redactedErr{msg: msg, err: err})
	}
	defer resp.Body.Close()
	res, err := httpResult(resp, url)
	if err != nil {
		return nil, err
	}
	if expectedStatus(in["expect_status"], resp.StatusCode) {
		return res, nil
	}
	err = fmt.Errorf("http.request: %s %s: status %d", hr.Method, safe.SecretsText(url), resp.StatusCode)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return nil, &engine.StepError{Err: err, Transient: true, RetryAfter: backoff.RetryAfter(resp.Header.Get("Retry-After"), time.Now(), backoff.MaxRetryAfter, time.Time{}), Result: res}
	}
	return nil, &engine.StepError{Err: err, Result: res}
}

// httpRequest is the request of an http.request step's input: its method (GET, or POST
// with a body), a json or body, and headers.
func httpRequest(ctx context.Context, in map[string]any, url string) (*http.Request, error) {
	var body io.Reader
	method, _ := in["method"].(string)
	ctype := ""
	switch {
	case in["json"] != nil:
		b, err := json.Marshal(in["json"])
		if err != nil {
			return nil, engine.Permanent(fmt.Errorf("http.request: encoding json: %w", err))
		}
		body, ctype = bytes.NewReader(b), "application/json"
	case in["body"] != nil:
		body = strings.NewReader(fmt.Sprint(in["body"]))
	}
	if method == "" {
		method = http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
	}
	hr, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), url, body)
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("http.request: %s", safe.SecretsText(err.Error())))
	}
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	if hs, ok := in["headers"].(map[string]any); ok {
		for k, v := range hs {
			hr.Header.Set(k, fmt.Sprint(v))
		}
	}
	return hr, nil
}

// httpResult is an http.request step's result of a response: status, headers (lower
// case), and the body as json when it says it is JSON, else as text (truncated past
// MaxOutput bytes, as shell.run's output).
func httpResult(resp *http.Response, url string) (map[string]any, error) {
	raw, truncated, err := readCapped(resp.Body)
	if err != nil {
		return nil, engine.Transient(fmt.Errorf("http.request: reading the response of %s: %v", safe.SecretsText(url), safe.SecretsText(err.Error())))
	}
	headers := map[string]any{}
	for k := range resp.Header {
		headers[strings.ToLower(k)] = resp.Header.Get(k)
	}
	res := map[string]any{"status": resp.StatusCode, "headers": headers}
	var js any
	if !truncated && strings.Contains(resp.Header.Get("Content-Type"), "json") && json.Unmarshal(raw, &js) == nil {
		res["json"] = js
	} else {
		res["body"] = string(raw)
	}
	if truncated {
		res["truncated"] = true // as shell.run says it: the body is its first MaxOutput bytes
	}
	return res, nil
}

// readCapped reads the first MaxOutput bytes of r. One byte past the cap tells a cut body
// from one of exactly MaxOutput bytes; the rest is never read (a body that never ends
// costs nothing more).
func readCapped(r io.Reader) (body []byte, truncated bool, err error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxOutput+1))
	if len(raw) > MaxOutput {
		return raw[:MaxOutput], true, err
	}
	return raw, false, err
}

func expectedStatus(want any, got int) bool {
	switch w := want.(type) {
	case nil:
		return got >= 200 && got < 300
	case int:
		return got == w
	case float64:
		return got == int(w)
	case []any:
		for _, x := range w {
			if expectedStatus(x, got) {
				return true
			}
		}
	}
	return false
}
