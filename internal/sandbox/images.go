package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/catalog"
)

// filesPrefix is where the sandbox serves the files the real server keeps in its public
// bucket (PI-API.md, Jobs: `.../campaigns/<org>/<job>.png`, fetched without the API key).
const filesPrefix = "/files/"

// imageLongSide is the longer side of a simulated ad in pixels: big enough to look at, small
// enough that a run's images embed in a report.
const imageLongSide = 384

// imageURL is the public URL of an ad job's image: the one place that spells it. Ads'
// payload.image_url and result_url are both this URL, as on the real server.
func (s *Server) imageURL(org, jobID string) string {
	return s.filesBase() + filesPrefix + "campaigns/" + org + "/" + jobID + ".png"
}

// filesBase is the origin images are served from: Options.PublicURL (pi serve gives its
// listener's address or --public-url). Never a request's Host: any client could choose
// it, and every later image URL would point where it said.
func (s *Server) filesBase() string {
	if s.opts.PublicURL != "" {
		return strings.TrimSuffix(s.opts.PublicURL, "/")
	}
	return "http://127.0.0.1"
}

// ownImagesAsHTTPS is input with every URL of this server's own images written as https,
// for the input check only. The real server's image URLs are https and pass its "an https
// URL" rule for source_image_url and reference_images; the sandbox's are plain http only
// because it serves them itself on loopback, which must not fail here a pipeline that
// passes one ad's image on to the next step and works on the real server.
func (s *Server) ownImagesAsHTTPS(input map[string]any) map[string]any {
	own := s.filesBase() + filesPrefix
	rest, isHTTP := strings.CutPrefix(own, "http://")
	if !isHTTP {
		return input
	}
	fix := func(v any) (any, bool) {
		if str, ok := v.(string); ok && strings.HasPrefix(str, own) {
			return "https://" + rest + strings.TrimPrefix(str, own), true
		}
		return v, false
	}
	var out map[string]any
	set := func(k string, v any) {
		if out == nil {
			out = make(map[string]any, len(input))
			for k, v := range input {
				out[k] = v
			}
		}
		out[k] = v
	}
	for k, v := range input {
		if nv, ok := fix(v); ok {
			set(k, nv)
			continue
		}
		if list, ok := v.([]any); ok {
			var nl []any
			for i, x := range list {
				if nx, ok := fix(x); ok {
					if nl == nil {
						nl = append([]any(nil), list...)
					}
					nl[i] = nx
				}
			}
			if nl != nil {
				set(k, nl)
			}
		}
	}
	if out == nil {
		return input
	}
	return out
}

// serveFile answers GET and HEAD under filesPrefix, without authentication, as a public
// bucket does: the PNG of a completed ad job of the organisation, else 404.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, filesPrefix+"campaigns/")
	org, file, ok := strings.Cut(rest, "/")
	id, isPNG := strings.CutSuffix(file, ".png")
	if !ok || !isPNG || rest == r.URL.Path || org != OrgID || !catalog.IsUUID(id) {
		http.NotFound(w, r)
		return
	}
	j, err := s.findJob(strings.ToLower(id))
	if err != nil {
		http.Error(w, "could not read the job; retry", http.StatusInternalServerError)
		return
	}
	if j == nil {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	snap := j.job
	s.mu.Unlock()
	if snap.Status != catalog.JobCompleted || catalog.JobRole(snap.Type, snap.ID, snap.ResultURL, snap.Payload, catalog.RoleImage) == "" {
		http.NotFound(w, r)
		return
	}
	b, err := s.images.get(snap.ID, func() ([]byte, error) { return renderAd(&snap) })
	if err != nil {
		http.Error(w, "could not draw the image", http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(b)
	h := w.Header()
	h.Set("Content-Type", "image/png")
	// The real bucket's URLs are permanent: the same job always gives the same bytes.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	http.ServeContent(w, r, "", time.Unix(snap.UpdatedAt, 0), bytes.NewReader(b))
}

// imageCache keeps the last PNGs drawn (a few KB each): a job's picture never changes, and
// drawing one takes milliseconds, so a run's images fetched again cost nothing.
type imageCache struct {
	mu    sync.Mutex
	byJob map[string][]byte
	order []string // oldest first
}

const cachedImages = 256

func (c *imageCache) get(job string, draw func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	b, ok := c.byJob[job]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := draw()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byJob == nil {
		c.byJob = map[string][]byte{}
	}
	if _, ok := c.byJob[job]; !ok {
		c.byJob[job] = b
		c.order = append(c.order, job)
		if len(c.order) > cachedImages {
			delete(c.byJob, c.order[0])
			c.order = c.order[1:]
		}
	}
	return b, nil
}

// renderAd draws the simulated ad of a completed ad job: its colours from the prompt and
// the target culture, its composition from the job (or, for an edit or a localization, the
// source job, whose composition it keeps), its size from output.aspect_ratio, and a label
// saying what it is. The same job always gives the same bytes.
func renderAd(j *job) ([]byte, error) {
	str := func(k string) string { v, _ := j.Input[k].(string); return strings.TrimSpace(v) }
	prompt, culture := str("prompt"), str("target_culture")
	layout := j.ID
	if src := str("source_job_id"); src != "" {
		layout = strings.ToLower(src)
	}
	w, h := adSize(j.Input)
	tone := sha256.Sum256([]byte(prompt + "\x00" + culture))
	seed := sha256.Sum256([]byte(layout))
	img := image.NewPaletted(image.Rect(0, 0, w, h), adPalette(tone))
	// Pix starts at 0: the background.
	drawShapes(img, seed)
	// The banner with the label: what kind of ad, then the culture or the prompt.
	head, body := adKind(j.Type), labelText(prompt)
	if culture != "" {
		head = labelText(culture)
	}
	drawBanner(img, head, body)
	// A thin frame, so a thumbnail on a white page has an edge.
	fillRect(img, image.Rect(0, 0, w, 2), 4)
	fillRect(img, image.Rect(0, 0, 2, h), 4)
	fillRect(img, image.Rect(w-2, 0, w, h), 4)

	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode ad image: %w", err)
	}
	return buf.Bytes(), nil
}

// adPalette is the ad's colours, around a hue taken from tone.
func adPalette(tone [32]byte) color.Palette {
	hue := math.Mod(float64(tone[0])/255*360+float64(tone[1])/255*20, 360)
	return color.Palette{
		hsv(hue, 0.50, 0.90),                    // 0 background
		hsv(math.Mod(hue+180, 360), 0.55, 0.75), // 1 big shape
		hsv(math.Mod(hue+30, 360), 0.35, 0.98),  // 2 small shapes
		hsv(hue, 0.60, 0.70),                    // 3 stripes
		hsv(hue, 0.55, 0.25),                    // 4 banner
		color.NRGBA{0xff, 0xff, 0xff, 0xff},     // 5 text
		hsv(math.Mod(hue+180, 360), 0.65, 0.95), // 6 accent text
		hsv(math.Mod(hue+180, 360), 0.35, 0.40), // 7 shape outline
	}
}

// drawShapes draws the composition the layout seed says: diagonal stripes in the upper
// part, the product (a disc) and two smaller shapes.
func drawShapes(img *image.Paletted, seed [32]byte) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	step := 18 + int(seed[0]%14)
	thick := 4 + int(seed[1]%6)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if (x+y+int(seed[2]))%step < thick && y < h*3/5 {
				img.Pix[img.PixOffset(x, y)] = 3
			}
		}
	}
	short := min(w, h)
	rad := short/5 + int(seed[3])%max(short/6, 1)
	cx := rad + int(seed[4])*max(w-2*rad, 1)/256
	cy := rad + int(seed[5])*max(h*3/4-2*rad, 1)/256
	disc(img, cx, cy, rad+3, 7)
	disc(img, cx, cy, rad, 1)
	for k := 0; k < 2; k++ {
		sw := short/8 + int(seed[6+k])%max(short/8, 1)
		x0 := int(seed[8+2*k]) * max(w-sw, 1) / 256
		y0 := int(seed[9+2*k]) * max(h*2/3-sw, 1) / 256
		fillRect(img, image.Rect(x0, y0, x0+sw, y0+sw), 2)
	}
}

// adKind is the label of an ad job's type.
func adKind(jobType string) string {
	switch jobType {
	case catalog.JobAdGeneration:
		return "AD"
	case catalog.JobAdEdit:
		return "EDIT"
	case catalog.JobAdLocalization:
		return "LOCALIZED"
	}
	return ""
}

// drawBanner writes head (and body, when the picture is big enough) on a dark band at
// the bottom, each cut to fit.
func drawBanner(img *image.Paletted, head, body string) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	short := min(w, h)
	scale := 2
	if short < 200 {
		scale = 1
	}
	lineH := (glyphH + 3) * scale
	bannerH := 2*lineH + 6*scale
	if short < 120 {
		bannerH = lineH + 4*scale
	}
	fillRect(img, image.Rect(0, h-bannerH, w, h), 4)
	margin := 4 * scale
	fit := func(s string, sc int) string {
		for s != "" && textWidth(s, sc) > w-2*margin {
			r := []rune(s)
			s = strings.TrimRight(string(r[:len(r)-2]), " ") + "."
		}
		return s
	}
	drawText(img, fit(head, scale), margin, h-bannerH+2*scale, scale, 6)
	if short >= 120 {
		drawText(img, fit(body, scale), margin, h-bannerH+2*scale+lineH, scale, 5)
	}
}

// adSize is the picture's size for the job's output.aspect_ratio ("auto" and anything
// else: square), the longer side imageLongSide.
func adSize(input map[string]any) (int, int) {
	out, _ := input["output"].(map[string]any)
	ratio, _ := out["aspect_ratio"].(string)
	a, b, ok := strings.Cut(ratio, ":")
	rw, err1 := strconv.Atoi(a)
	rh, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || rw <= 0 || rh <= 0 || rw > 64 || rh > 64 {
		return imageLongSide, imageLongSide
	}
	if rw >= rh {
		return imageLongSide, max(imageLongSide*rh/rw, 16)
	}
	return max(imageLongSide*rw/rh, 16), imageLongSide
}

// disc paints a filled circle (clipped to img).
func disc(img *image.Paletted, cx, cy, r int, c uint8) {
	for y := cy - r; y <= cy+r; y++ {
		for x := cx - r; x <= cx+r; x++ {
			dx, dy := x-cx, y-cy
			if dx*dx+dy*dy <= r*r && (image.Point{x, y}).In(img.Rect) {
				img.Pix[img.PixOffset(x, y)] = c
			}
		}
	}
}

// hsv is the opaque colour of hue h (degrees), saturation s and value v (0..1).
func hsv(h, s, v float64) color.NRGBA {
	c := v * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := v - c
	var r, g, b float64
	switch {
	case h < 60:
		r, g = c, x
	case h < 120:
		r, g = x, c
	case h < 180:
		g, b = c, x
	case h < 240:
		g, b = x, c
	case h < 300:
		r, b = x, c
	default:
		r, b = c, x
	}
	to := func(f float64) uint8 { return uint8(math.Round((f + m) * 255)) }
	return color.NRGBA{to(r), to(g), to(b), 0xff}
}
