package download

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/pi-cli/pi/internal/safe"
)

// progress tells what the downloads do: on a terminal one line redrawn in place, else one
// line per file. Its methods may be called from the download goroutines.
type progress struct {
	w     io.Writer
	live  bool
	total int

	mu    sync.Mutex
	count int
	bytes int64
	drawn bool
}

func newProgress(w io.Writer, live bool, total int) *progress {
	p := &progress{w: w, live: live && w != nil, total: total}
	if p.live && total > 0 {
		p.redraw("")
	}
	return p
}

func (p *progress) done(it Item) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count++
	p.bytes += it.Bytes
	line := itemLine(it)
	if p.live {
		if it.Err != nil {
			// A failure stays on screen, above the redrawn line.
			fmt.Fprintf(p.w, "\r\x1b[K%s\n", line)
		}
		p.redraw(it.File.File)
		return
	}
	fmt.Fprintln(p.w, line)
}

// redraw rewrites the live line. Caller holds p.mu (or is the constructor).
func (p *progress) redraw(last string) {
	s := fmt.Sprintf("downloading %d/%s  %s", p.count, images(p.total), HumanBytes(p.bytes))
	if last != "" {
		s += "  " + last
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", s)
	p.drawn = true
}

// finish clears the live line.
func (p *progress) finish() {
	if p.w == nil || !p.live {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// itemLine is one file's line: "hero.png  12.3 kB  new", or its failure.
func itemLine(it Item) string {
	if it.Err != nil {
		return "failed    " + safe.Text(it.Step) + ": " + safe.Text(it.Err.Error())
	}
	return fmt.Sprintf("%-9s %s  %s", it.Outcome, it.File.File, HumanBytes(it.Bytes))
}

// Summary is the closing line: how many images, where, and what changed.
func (r *Result) Summary() string {
	var n [3]int
	for _, it := range r.Items {
		switch it.Outcome {
		case New:
			n[0]++
		case Replaced:
			n[1]++
		case Unchanged:
			n[2]++
		}
	}
	if len(r.Items) == 0 {
		return "no completed step has an image to download"
	}
	var parts []string
	for i, w := range []string{New, Replaced, Unchanged} {
		if n[i] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[i], w))
		}
	}
	if f := r.Failed(); f > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", f))
	}
	return fmt.Sprintf("%s in %s (%s); %s lists them", images(len(r.Items)-r.Failed()), r.Dir,
		strings.Join(parts, ", "), ManifestName)
}

// images is "1 image", "2 images".
func images(n int) string {
	if n == 1 {
		return "1 image"
	}
	return fmt.Sprintf("%d images", n)
}

// HumanBytes writes n as 512 B, 12.3 kB, 4.5 MB.
func HumanBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
