// Package download fetches a run's images into a directory, with a manifest.json that says
// what each file is: `pi runs download` and `pi run --download`. The images live at public,
// permanent URLs on another host than the API (PI-API.md, Jobs), so nothing here ever
// sends a credential: its HTTP client has no key, no cookie jar, and strips any
// Authorization header a redirect could carry.
package download

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/backoff"
	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/run"
)

// ManifestName is the manifest's file name inside the download directory.
const ManifestName = "manifest.json"

// Bounds of one download.
const (
	defaultConcurrency = 4
	// MaxBytes bounds one image: a 4K PNG is a few tens of MB; anything bigger is not one.
	MaxBytes = 64 << 20
	// attemptTimeout bounds one request, headers and body.
	attemptTimeout = 2 * time.Minute
	maxRedirects   = 5
)

// Options say what to download and how.
type Options struct {
	// Dir is the directory the files and the manifest go to (created when missing).
	Dir string
	// Steps are globs (path.Match) of the step ids to download; none means every step.
	Steps []string
	// Concurrency is how many downloads run at once (default 4); Attempts how often a
	// transient failure is tried (default backoff.DownloadAttempts).
	Concurrency, Attempts int
	// Client fetches the images; nil means pi's image client (newClient: no credentials,
	// no internal addresses unless AllowInternal). A given client gets the redirect rules, not the
	// address rule (tests).
	Client *http.Client
	// Pace wraps the client's transport: pi's limiter of the API origin, so an image the
	// API serves itself counts against its rate limit (nil: none).
	Pace func(http.RoundTripper) http.RoundTripper
	// AllowInternal lets images come from addresses of this machine or its networks
	// (loopback, private, link-local): true only when the Pi API itself is on one (the
	// sandbox, a private deployment). Otherwise an image URL or redirect leading there is
	// refused, since a server could make pi fetch and keep what an internal service says.
	AllowInternal bool
	// internal replaces internalIP (tests: 127.0.0.2 as the internal address).
	internal func(net.IP) bool
	// Progress gets what happens (stderr); nil writes nothing. Live redraws one line in
	// place (a terminal) instead of a line per file.
	Progress io.Writer
	Live     bool
	// Clock times the waits between attempts (nil: the wall clock); tests give a fake one.
	Clock clock.Clock
	// Debug, when set, gets one line per HTTP request (every redirect hop too): the image
	// client's part of --debug.
	Debug io.Writer
}

// File is one downloaded image, as the manifest lists it.
type File struct {
	Step        string `json:"step"`
	Action      string `json:"action"`
	JobID       string `json:"job_id,omitempty"`
	URL         string `json:"url"`
	File        string `json:"file"`
	Bytes       int64  `json:"bytes"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type,omitempty"`
}

// Failure is an image that could not be downloaded.
type Failure struct {
	Step  string `json:"step"`
	URL   string `json:"url"`
	Error string `json:"error"`
}

// Manifest is manifest.json: the run, and every file of the directory.
type Manifest struct {
	RunID  string    `json:"run_id"`
	Status string    `json:"status"`
	Files  []File    `json:"files"`
	Failed []Failure `json:"failed,omitempty"`
}

// Outcome of one file.
const (
	New       = "new"       // there was no such file
	Replaced  = "replaced"  // the file differed and was replaced
	Unchanged = "unchanged" // the file already had these bytes
)

// Item is what happened to one step's image.
type Item struct {
	File
	Outcome string // New, Replaced, Unchanged; "" when it failed
	Err     error
}

// Result is what Run did.
type Result struct {
	Dir      string
	Manifest *Manifest
	Items    []Item // in the run's step order
}

// Failed counts the items that could not be downloaded.
func (r *Result) Failed() int {
	n := 0
	for _, it := range r.Items {
		if it.Err != nil {
			n++
		}
	}
	return n
}

// NoMatchError says that --step globs matched no step of the run (a usage error).
type NoMatchError struct {
	Globs []string
	Steps []string
}

func (e *NoMatchError) Error() string {
	return fmt.Sprintf("--step %s matches no step of the run (its steps: %s)",
		strings.Join(e.Globs, ", "), strings.Join(e.Steps, ", "))
}

// UsageError is a problem with what was asked (a bad glob, a directory holding another
// run's download), found before anything is fetched.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// FailedError says that some downloads failed; the others were kept.
type FailedError struct {
	Failed, Total int
	First         error
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d of %d downloads failed (the others were kept): %v", e.Failed, e.Total, e.First)
}

// ImageURL is the image of a step's result (the field the catalog gives that role), ""
// when it has none.
func ImageURL(s *run.Step) string {
	return catalog.ResultRole(s.Action, s.Result, catalog.RoleImage)
}

// DefaultDir is where a run's images go unless told: ./pi-<first 8 characters of its id>.
func DefaultDir(runID string) string {
	id := runID
	if len(id) > 8 {
		id = id[:8]
	}
	return "pi-" + id
}

// wanted is one image to fetch.
type wanted struct {
	step *run.Step
	url  string
	base string // file name without extension
}

// Run downloads the images of r's completed steps (those the globs match) into opts.Dir
// and writes the manifest. Files already there with the same bytes are kept; different
// ones are replaced atomically. A failed download leaves the other files, and that step's
// previous file, in place: the error is then a *FailedError.
func Run(ctx context.Context, r *run.Run, opts Options) (*Result, error) {
	opts = opts.withDefaults(r)
	selected, err := selectSteps(r, opts.Steps)
	if err != nil {
		return nil, err
	}
	prev, err := readManifest(opts.Dir)
	if err != nil {
		return nil, err
	}
	if prev != nil && prev.RunID != r.ID {
		return nil, &UsageError{fmt.Errorf("%s holds the images of run %s (its %s); download run %s into another directory (-D)",
			opts.Dir, prev.RunID, ManifestName, r.ID)}
	}
	var todo []wanted
	names := fileBases(r)
	for _, s := range selected {
		if u := ImageURL(s); s.Status.Succeeded() && u != "" {
			todo = append(todo, wanted{step: s, url: u, base: names[s.ID]})
		}
	}
	res := &Result{Dir: opts.Dir, Items: make([]Item, len(todo))}
	if len(todo) > 0 {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", opts.Dir, err)
		}
	}
	p := newProgress(opts.Progress, opts.Live, len(todo))
	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	for i, w := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			it := fetchOne(ctx, opts, w)
			res.Items[i] = it
			p.done(it)
		}()
	}
	wg.Wait()
	p.finish()

	if len(todo) > 0 || prev != nil {
		m, err := updateManifest(opts.Dir, r, res.Items, false)
		res.Manifest = m
		if err != nil {
			return res, err
		}
	} else {
		res.Manifest = merge(nil, r, nil, opts.Dir)
	}
	if n := res.Failed(); n > 0 {
		return res, &FailedError{Failed: n, Total: len(todo), First: res.firstError()}
	}
	return res, nil
}

// withDefaults fills what opts leaves out, and gives its client the image rules.
func (opts Options) withDefaults(r *run.Run) Options {
	if opts.Concurrency <= 0 {
		opts.Concurrency = defaultConcurrency
	}
	if opts.Attempts <= 0 {
		opts.Attempts = backoff.DownloadAttempts
	}
	if opts.Client == nil {
		opts.Client = newClient(opts.AllowInternal, opts.internal)
	} else {
		c := *opts.Client
		c.CheckRedirect = checkRedirect
		opts.Client = &c
	}
	if opts.Pace != nil {
		c := *opts.Client
		c.Transport = opts.Pace(c.Transport)
		opts.Client = &c
	}
	if opts.Debug != nil {
		c := *opts.Client
		c.Transport = &traceTransport{next: c.Transport, w: opts.Debug}
		opts.Client = &c
	}
	if opts.Dir == "" {
		opts.Dir = DefaultDir(r.ID)
	}
	return opts
}

// firstError is the first failed item's error, named by its step.
func (r *Result) firstError() error {
	for _, it := range r.Items {
		if it.Err != nil {
			return fmt.Errorf("%s: %w", it.Step, it.Err)
		}
	}
	return nil
}

// selectSteps returns the steps the globs match, in the run's order.
func selectSteps(r *run.Run, globs []string) ([]*run.Step, error) {
	for _, g := range globs {
		if _, err := path.Match(g, ""); err != nil {
			return nil, &UsageError{fmt.Errorf("--step %q: %v", g, err)}
		}
	}
	var out []*run.Step
	for i := range r.Steps {
		s := &r.Steps[i]
		if len(globs) == 0 {
			out = append(out, s)
			continue
		}
		for _, g := range globs {
			if ok, _ := path.Match(g, s.ID); ok {
				out = append(out, s)
				break
			}
		}
	}
	if len(globs) > 0 && len(out) == 0 {
		ids := make([]string, len(r.Steps))
		for i := range r.Steps {
			ids[i] = r.Steps[i].ID
		}
		return nil, &NoMatchError{Globs: globs, Steps: ids}
	}
	return out, nil
}

// fetchOne downloads one image with retries and puts it in place.
func fetchOne(ctx context.Context, opts Options, w wanted) Item {
	it := Item{File: File{Step: w.step.ID, Action: w.step.Action, JobID: w.step.JobID, URL: w.url}}
	u, err := url.Parse(w.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		it.Err = fmt.Errorf("image_url %q is not an http(s) URL", w.url)
		return it
	}
	for attempt := 1; ; attempt++ {
		f, tmp, wait, err := tryFetch(ctx, opts, w)
		if err == nil {
			it.File = f
			it.Outcome, it.Err = place(tmp, filepath.Join(opts.Dir, f.File), f.SHA256)
			return it
		}
		it.Err = err
		if wait < 0 || attempt >= opts.Attempts || ctx.Err() != nil {
			return it
		}
		if serr := clock.Sleep(ctx, opts.Clock, backoff.API.Wait(attempt, rand.Float64(), wait)); serr != nil {
			return it
		}
	}
}

// tryFetch makes one attempt: the body goes to the temporary file tmp in the directory.
// wait is < 0 when trying again cannot help, else the Retry-After the server asked for
// (0: none).
func tryFetch(ctx context.Context, opts Options, w wanted) (f File, tmpName string, wait time.Duration, err error) {
	f = File{Step: w.step.ID, Action: w.step.Action, JobID: w.step.JobID, URL: w.url}
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
	if err != nil {
		return f, "", -1, err
	}
	req.Header.Set("Accept", "image/*")
	resp, err := opts.Client.Do(req)
	if err != nil {
		wait, err := requestError(ctx, w.url, err)
		return f, "", wait, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		wait, err := statusError(w.url, resp)
		return f, "", wait, err
	}
	if resp.ContentLength > MaxBytes {
		return f, "", -1, fmt.Errorf("GET %s: %d bytes, more than the %d MiB an image may have", w.url, resp.ContentLength, MaxBytes>>20)
	}
	// The first bytes say what the body is, whatever Content-Type claims: only a raster
	// image is written anywhere.
	head := make([]byte, sniffLen)
	hn, herr := io.ReadFull(resp.Body, head)
	head = head[:hn]
	if herr != nil && herr != io.EOF && herr != io.ErrUnexpectedEOF {
		return f, "", transientNetwork(herr), fmt.Errorf("GET %s: reading the body: %w", w.url, herr)
	}
	kind := rasterType(head)
	if kind == "" {
		return f, "", -1, fmt.Errorf("GET %s: %s", w.url, notRaster(resp.Header.Get("Content-Type"), head))
	}
	tmp, err := os.CreateTemp(opts.Dir, "."+w.base+".*.part")
	if err != nil {
		return f, "", -1, fmt.Errorf("create a file in %s: %w", opts.Dir, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	body := io.MultiReader(bytes.NewReader(head), resp.Body)
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(body, MaxBytes+1))
	if err != nil {
		return f, "", transientNetwork(err), fmt.Errorf("GET %s: reading the body: %w", w.url, err)
	}
	if n > MaxBytes {
		return f, "", -1, fmt.Errorf("GET %s: more than the %d MiB an image may have", w.url, MaxBytes>>20)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return f, "", 0, fmt.Errorf("GET %s: got %d of %d bytes", w.url, n, resp.ContentLength)
	}
	_ = tmp.Chmod(0o644) // CreateTemp makes it private; an image is not
	if err := tmp.Close(); err != nil {
		return f, "", -1, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	f.ContentType = kind
	f.Bytes = n
	f.SHA256 = hex.EncodeToString(h.Sum(nil))
	f.File = w.base + rasterExtension(kind)
	ok = true
	return f, tmp.Name(), 0, nil
}

// requestError is a request that got no answer: whether trying again may help (the wait,
// or -1) and what to say.
func requestError(ctx context.Context, rawURL string, err error) (time.Duration, error) {
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return -1, err
	}
	var ie *internalAddrError
	var de *downgradeError
	if errors.As(err, &ie) || errors.As(err, &de) {
		return -1, fmt.Errorf("GET %s: %w", rawURL, unwrapURL(err))
	}
	return transientNetwork(err), fmt.Errorf("GET %s: %w", rawURL, unwrapURL(err))
}

// statusError is an answer other than 200: the wait before trying again (the server's
// Retry-After for a transient status), or -1.
func statusError(rawURL string, resp *http.Response) (time.Duration, error) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	err := fmt.Errorf("GET %s: %s", rawURL, resp.Status)
	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return backoff.RetryAfter(resp.Header.Get("Retry-After"), time.Now(), backoff.DownloadRetryAfter, time.Time{}), err
	}
	return -1, err
}

// place moves the downloaded temporary file tmp to final, unless a file with the same
// bytes is there already; the rename replaces a different file atomically.
func place(tmp, final, sum string) (string, error) {
	old, err := fileSHA256(final)
	switch {
	case err == nil && old == sum:
		os.Remove(tmp)
		return Unchanged, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		os.Remove(tmp)
		return "", err
	}
	if rerr := os.Rename(tmp, final); rerr != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", final, rerr)
	}
	if err == nil {
		return Replaced, nil
	}
	return New, nil
}

func fileSHA256(name string) (string, error) {
	fh, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// transientNetwork is the wait for a network error worth trying again (0), or -1.
func transientNetwork(err error) time.Duration {
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.As(err, &ne) && ne.Timeout(), errors.As(err, &op), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF), strings.Contains(err.Error(), "connection reset"):
		return 0
	}
	return -1
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
