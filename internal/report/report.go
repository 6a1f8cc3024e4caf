// Package report writes a run as one self-contained HTML page: the DAG drawn as inline SVG
// by layers, every step with its status, times, inputs, results and errors, and its
// images, embedded as data URLs when they were downloaded. No script, no font, no style
// sheet comes from anywhere: the page reads the same offline, in a mail or an archive.
// Everything in it goes through html/template, so nothing a server or a file said can
// become markup.
package report

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/download"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/safe"
)

//go:embed report.html.tmpl
var pageSource string

var (
	pageOnce sync.Once
	page     *template.Template
)

// pageTemplate is the page's template, parsed on first use: only pi runs report pays for
// it, not every pi process at start-up.
func pageTemplate() *template.Template {
	pageOnce.Do(func() { page = template.Must(template.New("report").Parse(pageSource)) })
	return page
}

// Input is what a step was given: its input and its input_map (from the pipeline file; the
// API does not return them).
type Input struct {
	Values map[string]any
	Map    map[string]string
}

// Options complete what the run itself says.
type Options struct {
	// Inputs by step id; steps without an entry show no inputs.
	Inputs map[string]Input
	// Dir is a download directory (pi runs download -D DIR) whose images are embedded.
	Dir string
	// Now is the time the page says it was made (tests fix it); zero means time.Now.
	Now time.Time
	// Generator names the program in the page's footer, e.g. "pi v1.2.0".
	Generator string
	// File is the pipeline file the run came from ("" when not known), shown in the header.
	File string
	// Draw, when set, gives the PNG of a completed step's image that Dir does not hold
	// (a sandbox run's ads are drawn again from their jobs); false for none.
	Draw func(s *run.Step) ([]byte, bool)
}

// Bounds of what is embedded: a page with a run's ads stays a page.
const (
	maxEmbedImage = 8 << 20
	maxEmbedTotal = 64 << 20
	maxInputText  = 600
)

// Write writes the page of r to w. The warnings say what could not be embedded.
func Write(w io.Writer, r *run.Run, opts Options) (warnings []string, err error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	embedded, warnings, err := loadImages(r, opts.Dir)
	if err != nil {
		return nil, err
	}
	embedded = drawImages(r, opts.Draw, embedded)
	v := build(r, opts, embedded)
	var buf bytes.Buffer
	if err := pageTemplate().Execute(&buf, v); err != nil {
		return warnings, fmt.Errorf("report: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return warnings, err
}

// view is what the template draws.
type view struct {
	RunID, Status, StatusClass, Duration, Counts, Created, Generated, Generator string
	Metadata, File                                                              string
	Graph                                                                       graph
	Steps                                                                       []stepView
	Embedded                                                                    int
}

type stepView struct {
	Anchor, ID, Action, Status, StatusClass string
	Started, Completed, Duration, Attempts  string
	JobID                                   string
	DependsOn                               []link
	Inputs                                  []kv
	InputMap                                []kv
	Results                                 []kv
	Error                                   string
	ImageURL                                string       // the public URL (linked)
	ImageSrc                                template.URL // a data URL, when downloaded
	ImageFile                               string
}

type kv struct{ Key, Value string }

type link struct{ Anchor, ID string }

// statusClass is the CSS class of a status word (a step's or a run's).
func statusClass(word string) string {
	switch run.StepStatus(word) {
	case run.StepCompleted, run.StepReused:
		return "ok"
	case run.StepFailed:
		return "fail"
	case run.StepSkipped, run.StepCancelled, run.NotRun:
		return "off"
	case run.StepProcessing, run.StepQueued, run.StepStatus(run.InProgress):
		return "busy"
	}
	return "wait"
}

// stepStatus is the status word of a step, run.NotRun for one a finished run never reached.
func stepStatus(r *run.Run, s *run.Step) string {
	if r.Status.Terminal() && (s.Status == run.StepPending || s.Status == run.StepQueued) {
		return string(run.NotRun)
	}
	return string(s.Status)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if t.Nanosecond() != 0 {
		return t.UTC().Format("2006-01-02 15:04:05.000Z")
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func build(r *run.Run, opts Options, embedded map[string]embeddedImage) view {
	// Steps are indexed once: the graph and the images look steps up by id, and a scan
	// per lookup made the page of 100,000 steps take minutes.
	anchors := make(map[string]string, len(r.Steps))
	for i := range r.Steps {
		anchors[r.Steps[i].ID] = "step-" + strconv.Itoa(i+1)
	}
	counts := map[string]int{}
	v := view{
		RunID: r.ID, Status: string(r.Status), StatusClass: statusClass(string(r.Status)),
		Duration: render.RunDurationText(r, opts.Now), Created: timeText(r.CreatedAt),
		Generated: opts.Now.UTC().Format(time.RFC3339), Generator: opts.Generator, File: opts.File,
	}
	if len(r.Metadata) > 0 {
		v.Metadata = clip(compactJSON(safe.Secrets("", r.Metadata)), maxInputText)
	}
	for i := range r.Steps {
		s := &r.Steps[i]
		word := stepStatus(r, s)
		counts[word]++
		sv := stepView{
			Anchor: anchors[s.ID], ID: s.ID, Action: s.Action, Status: word, StatusClass: statusClass(word),
			Started: timeText(s.StartedAt), Completed: timeText(s.CompletedAt), JobID: s.JobID, Error: render.StepErrorText(s),
		}
		if !s.StartedAt.IsZero() {
			precise := s.StartedAt.Nanosecond() != 0 || s.CompletedAt.Nanosecond() != 0
			sv.Duration = render.Duration(s.Duration(opts.Now), precise)
		}
		if s.Attempts > 0 {
			sv.Attempts = fmt.Sprint(s.Attempts)
		}
		for _, d := range s.DependsOn {
			sv.DependsOn = append(sv.DependsOn, link{Anchor: anchors[d], ID: d})
		}
		if in, ok := opts.Inputs[s.ID]; ok {
			sv.Inputs = inputRows(in.Values)
			for _, k := range slices.Sorted(maps.Keys(in.Map)) { // expressions, not values
				sv.InputMap = append(sv.InputMap, kv{k, in.Map[k]})
			}
		}
		image, _, _ := catalog.RoleOf(s.Action, s.Result, catalog.RoleImage)
		job, _, _ := catalog.RoleOf(s.Action, s.Result, catalog.RoleJob)
		for _, k := range slices.Sorted(maps.Keys(s.Result)) {
			sameImage := image != "" && s.Result[image] != nil && s.Result[k] == s.Result[image]
			if image != "" && k == image || sameImage || k == job && s.Result[k] == s.JobID ||
				k == "error_log" && s.Error != "" {
				continue // shown as the image (an ad's result_url is the same URL), as the job, or as the step's error
			}
			sv.Results = append(sv.Results, kv{k, valueText(k, safe.Secrets(k, s.Result[k]))})
		}
		if u := download.ImageURL(s); u != "" && s.Status.Succeeded() {
			if pu, err := url.Parse(u); err == nil && (pu.Scheme == "http" || pu.Scheme == "https") {
				sv.ImageURL = u
			}
			if e, ok := embedded[s.ID]; ok {
				sv.ImageSrc, sv.ImageFile = e.src, e.file
				v.Embedded++
			}
		}
		v.Steps = append(v.Steps, sv)
	}
	var parts []string
	for _, w := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[w], w))
	}
	v.Counts = strings.Join(parts, ", ")
	v.Graph = layout(r, anchors, stepIndex(r))
	return v
}

// inputRows are the inputs worth reading, in key order: long text clipped, images and
// base64 blobs summarised, nested objects as compact JSON, credentials hidden (an
// Authorization header, a token in env, a URL's password).
func inputRows(in map[string]any) []kv {
	var rows []kv
	for _, k := range slices.Sorted(maps.Keys(in)) {
		rows = append(rows, kv{k, valueText(k, safe.Secrets(k, in[k]))})
	}
	return rows
}

func valueText(key string, v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if isBlob(key, x) {
			return fmt.Sprintf("(%s of %d characters)", blobKind(x), len(x))
		}
		return clip(x, maxInputText)
	case []any:
		if len(x) > 0 && isBlobList(key, x) {
			if len(x) == 1 {
				return "(1 image)"
			}
			return fmt.Sprintf("(%d images)", len(x))
		}
	}
	return clip(compactJSON(v), maxInputText)
}

// compactJSON is v as JSON as a person reads it: < and > as themselves (the template
// escapes them for HTML).
func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func isBlob(key, s string) bool {
	return strings.HasPrefix(s, "data:") || (strings.HasSuffix(strings.ToLower(key), "base64") && len(s) > 64) ||
		(len(s) > 1024 && !strings.ContainsAny(s, " \n"))
}

func blobKind(s string) string {
	if strings.HasPrefix(s, "data:") {
		return "a data URL"
	}
	return "base64"
}

func isBlobList(key string, xs []any) bool {
	for _, x := range xs {
		s, ok := x.(string)
		if !ok || !isBlob(key, s) {
			return false
		}
	}
	return true
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// stepIndex maps each step id of r to its step (the first, should an id repeat, as
// run.Step finds it).
func stepIndex(r *run.Run) map[string]*run.Step {
	idx := make(map[string]*run.Step, len(r.Steps))
	for i := range r.Steps {
		if _, dup := idx[r.Steps[i].ID]; !dup {
			idx[r.Steps[i].ID] = &r.Steps[i]
		}
	}
	return idx
}

// embeddedImage is a downloaded image as a data URL.
type embeddedImage struct {
	src  template.URL
	file string
}

// embeddable are the image types a data URL may carry: raster images only (an SVG is a
// document).
func embeddable(contentType string) bool {
	switch contentType {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

// drawImages adds the images draw gives for the completed steps with an image that have
// none embedded yet, within the page's bounds.
func drawImages(r *run.Run, draw func(*run.Step) ([]byte, bool), embedded map[string]embeddedImage) map[string]embeddedImage {
	if draw == nil {
		return embedded
	}
	total := 0
	for _, e := range embedded {
		total += len(e.src)
	}
	for i := range r.Steps {
		s := &r.Steps[i]
		if _, ok := embedded[s.ID]; ok || !s.Status.Succeeded() || download.ImageURL(s) == "" {
			continue
		}
		b, ok := draw(s)
		if !ok || len(b) > maxEmbedImage || total+len(b) > maxEmbedTotal || httpSniff(b) != "image/png" {
			continue
		}
		if embedded == nil {
			embedded = map[string]embeddedImage{}
		}
		total += len(b)
		embedded[s.ID] = embeddedImage{src: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b)), file: "drawn again by pi's sandbox"}
	}
	return embedded
}

// loadImages reads the images a download directory holds for r: only files its manifest
// lists for this run, whose bytes still have the manifest's sha256.
func loadImages(r *run.Run, dir string) (map[string]embeddedImage, []string, error) {
	if dir == "" {
		return nil, nil, nil
	}
	m, err := download.ReadManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	if m == nil {
		return nil, nil, fmt.Errorf("%s has no %s: download the images first (pi runs download %s -D %s)", dir, download.ManifestName, r.ID, dir)
	}
	if m.RunID != r.ID {
		return nil, nil, fmt.Errorf("%s holds the images of run %s, not of run %s", dir, m.RunID, r.ID)
	}
	out := map[string]embeddedImage{}
	var warns []string
	total := 0
	steps := stepIndex(r)
	for _, f := range m.Files {
		if _, ok := steps[f.Step]; !ok {
			continue
		}
		name := filepath.Join(dir, filepath.Base(f.File))
		b, err := os.ReadFile(name)
		switch {
		case err != nil:
			warns = append(warns, fmt.Sprintf("%s: %v", f.Step, err))
			continue
		case len(b) > maxEmbedImage || total+len(b) > maxEmbedTotal:
			warns = append(warns, fmt.Sprintf("%s: %s is too big to embed (linked instead)", f.Step, name))
			continue
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != f.SHA256 {
			warns = append(warns, fmt.Sprintf("%s: %s changed since it was downloaded (its sha256 differs from the manifest); not embedded", f.Step, name))
			continue
		}
		ct := f.ContentType
		if !embeddable(ct) {
			if ct = httpSniff(b); !embeddable(ct) {
				warns = append(warns, fmt.Sprintf("%s: %s is not a PNG, JPEG, GIF or WebP image; not embedded", f.Step, name))
				continue
			}
		}
		total += len(b)
		// The bytes are ours, checked against the manifest, and of a raster type: safe
		// as an img src.
		out[f.Step] = embeddedImage{src: template.URL("data:" + ct + ";base64," + base64.StdEncoding.EncodeToString(b)), file: f.File}
	}
	return out, warns, nil
}
