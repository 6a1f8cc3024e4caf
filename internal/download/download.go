// Package download fetches a run's images into a directory, with a manifest.json that says
// what each file is: `pi runs download` and `pi run --download`. The images live at public,
// permanent URLs on another host than the API (PI-API.md, Jobs), so nothing here ever
// sends a credential: its HTTP client has no key, no cookie jar, and strips any
// Authorization header a redirect could carry.
package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
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
	// Client fetches the images; nil means NewClient().
	Client *http.Client
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

// NewClient is an HTTP client for public image hosts: no credentials of any kind, at most
// five redirects, only to http(s), with every Authorization and Cookie header dropped on
// the way.
func NewClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to %q: only http(s) is followed", req.URL.Scheme)
	}
	req.Header.Del("Authorization")
	req.Header.Del("Cookie")
	return nil
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
	if opts.Concurrency <= 0 {
		opts.Concurrency = defaultConcurrency
	}
	if opts.Attempts <= 0 {
		opts.Attempts = backoff.DownloadAttempts
	}
	if opts.Client == nil {
		opts.Client = NewClient()
	}
	if opts.Debug != nil {
		c := *opts.Client
		c.Transport = &traceTransport{next: c.Transport, w: opts.Debug}
		opts.Client = &c
	}
	if opts.Dir == "" {
		opts.Dir = DefaultDir(r.ID)
	}
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

	res.Manifest = merge(prev, r, res.Items, opts.Dir)
	if len(todo) > 0 || prev != nil {
		if err := writeManifest(opts.Dir, res.Manifest); err != nil {
			return res, err
		}
	}
	if n := res.Failed(); n > 0 {
		var first error
		for _, it := range res.Items {
			if it.Err != nil {
				first = fmt.Errorf("%s: %w", it.Step, it.Err)
				break
			}
		}
		return res, &FailedError{Failed: n, Total: len(todo), First: first}
	}
	return res, nil
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

// fileBases gives every step a distinct, safe file name (without extension): its id with
// anything but letters, digits, '-', '_' and '.' replaced, never starting with a dot, so a
// step id can never name a path outside the directory.
func fileBases(r *run.Run) map[string]string {
	out := map[string]string{}
	used := map[string]bool{ManifestName: true}
	for i := range r.Steps {
		id := r.Steps[i].ID
		var b strings.Builder
		for _, c := range id {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
				b.WriteRune(c)
			default:
				b.WriteByte('_')
			}
		}
		name := strings.TrimLeft(b.String(), ".")
		if name == "" {
			name = "step"
		}
		if used[strings.ToLower(name)] || name != id {
			// Another step has the name (file systems may fold case) or the id was
			// changed to make it: a short hash of the id keeps names distinct.
			sum := sha256.Sum256([]byte(id))
			name += "-" + hex.EncodeToString(sum[:3])
		}
		used[strings.ToLower(name)] = true
		out[id] = name
	}
	return out
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
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return f, "", -1, err
		}
		return f, "", transientNetwork(err), fmt.Errorf("GET %s: %w", w.url, unwrapURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		err := fmt.Errorf("GET %s: %s", w.url, resp.Status)
		switch resp.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return f, "", backoff.RetryAfter(resp.Header.Get("Retry-After"), time.Now(), backoff.DownloadRetryAfter, time.Time{}), err
		}
		return f, "", -1, err
	}
	if resp.ContentLength > MaxBytes {
		return f, "", -1, fmt.Errorf("GET %s: %d bytes, more than the %d MiB an image may have", w.url, resp.ContentLength, MaxBytes>>20)
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
	sniff := &headBuffer{max: 512}
	n, err := io.Copy(io.MultiWriter(tmp, h, sniff), io.LimitReader(resp.Body, MaxBytes+1))
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
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt == "application/octet-stream" || mt == "" {
		ct = http.DetectContentType(sniff.b)
	}
	f.ContentType, _, _ = mime.ParseMediaType(ct)
	f.Bytes = n
	f.SHA256 = hex.EncodeToString(h.Sum(nil))
	f.File = w.base + extension(f.ContentType, w.url)
	ok = true
	return f, tmp.Name(), 0, nil
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

// extension is the file extension of a content type, else of the URL's path when it is
// an image's, else ".bin".
func extension(contentType, rawURL string) string {
	switch contentType {
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/webp":
		return ".webp"
	case "image/gif":
		return ".gif"
	case "image/avif":
		return ".avif"
	case "image/svg+xml":
		return ".svg"
	}
	if u, err := url.Parse(rawURL); err == nil {
		switch ext := strings.ToLower(path.Ext(u.Path)); ext {
		case ".png", ".jpg", ".jpeg", ".webp", ".gif", ".avif":
			return ext
		}
	}
	return ".bin"
}

// merge is the new manifest: the entries of this download, and those of the previous
// manifest for steps not downloaded now (or whose download failed) whose file is still
// there, in the run's step order.
func merge(prev *Manifest, r *run.Run, items []Item, dir string) *Manifest {
	m := &Manifest{RunID: r.ID, Status: string(r.Status), Files: []File{}}
	byStep := map[string]File{}
	if prev != nil {
		for _, f := range prev.Files {
			if _, err := os.Stat(filepath.Join(dir, filepath.Base(f.File))); err == nil {
				byStep[f.Step] = f
			}
		}
	}
	for _, it := range items {
		if it.Err != nil {
			m.Failed = append(m.Failed, Failure{Step: it.Step, URL: it.URL, Error: it.Err.Error()})
			continue
		}
		byStep[it.Step] = it.File
	}
	order := map[string]int{}
	for i := range r.Steps {
		order[r.Steps[i].ID] = i
	}
	for _, f := range byStep {
		m.Files = append(m.Files, f)
	}
	sort.Slice(m.Files, func(a, b int) bool {
		oa, okA := order[m.Files[a].Step]
		ob, okB := order[m.Files[b].Step]
		if okA != okB {
			return okA
		}
		if oa != ob {
			return oa < ob
		}
		return m.Files[a].Step < m.Files[b].Step
	})
	return m
}

// ReadManifest reads dir's manifest.json; nil without error when there is none.
func ReadManifest(dir string) (*Manifest, error) { return readManifest(dir) }

func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil || m.RunID == "" {
		return nil, &UsageError{fmt.Errorf("%s: not a pi download manifest (%v); use another directory", filepath.Join(dir, ManifestName), err)}
	}
	return &m, nil
}

// writeManifest replaces the manifest atomically.
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".manifest.*.part")
	if err != nil {
		return fmt.Errorf("write the manifest: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	_ = tmp.Chmod(0o644)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the manifest: %v", errors.Join(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ManifestName)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the manifest: %w", err)
	}
	return nil
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

// headBuffer keeps the first max bytes written to it (for content sniffing).
type headBuffer struct {
	b   []byte
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// traceTransport writes a line per request for --debug. Image requests carry no
// credential, so there is nothing to redact; the line says so.
type traceTransport struct {
	next http.RoundTripper
	w    io.Writer
	mu   sync.Mutex
}

func (t *traceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	start := time.Now()
	auth := "no Authorization"
	if req.Header.Get("Authorization") != "" {
		auth = "Authorization: [redacted]" // never set by this package
	}
	resp, err := next.RoundTrip(req)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		fmt.Fprintf(t.w, "download: %s %s (%s): %v\n", req.Method, req.URL.Redacted(), auth, err)
		return nil, err
	}
	fmt.Fprintf(t.w, "download: %s %s (%s) -> %s in %s\n", req.Method, req.URL.Redacted(), auth, resp.Status,
		time.Since(start).Round(time.Millisecond))
	return resp, nil
}
