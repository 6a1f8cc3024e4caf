package catalog

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Note is something the server accepts in an input but will misread or fail on once the
// job runs: a warning, where an Issue is a refusal.
type Note struct {
	Path    []any
	Message string
}

// Notes returns what the server's image code will make of the image references in input
// (reference_images, source_image_url), which its schema takes as any string
// (src/lib/ads/reference-inputs.ts): it trims each, fetches it only when it starts with
// "https://", reads data:<image type>;base64,<data>, and decodes anything else as base64
// into a PNG image, skipping what is not base64. Values Check refuses are not noted.
func Notes(action string, input map[string]any) []Note {
	var notes []Note
	eachImage(action, input, func(path []any, s string) {
		if m := ImageNote(s); m != "" {
			notes = append(notes, Note{Path: path, Message: m})
		}
	})
	return notes
}

// ImageJobError is the error the server's image code throws once a job of action reads
// input's image references (src/lib/ads/reference-inputs.ts: an https URL new URL()
// refuses, a data: URL of a type it does not take), so the job fails with it; "" when
// every reference is read, or misread without failing.
func ImageJobError(action string, input map[string]any) string {
	var first string
	eachImage(action, input, func(_ []any, s string) {
		if first != "" {
			return
		}
		t := jsTrim(s)
		dataURL, _ := imageRegexps()
		if strings.HasPrefix(t, "https://") {
			if _, err := ParseWebURL(t); err != nil {
				first = "reference image URL is invalid."
			}
		} else if m := dataURL.FindStringSubmatch(t); m != nil {
			if typ := strings.ToLower(m[1]); !containsString(allowedImageTypes, typ) {
				first = "Unsupported reference image type: " + typ
			}
		}
	})
	return first
}

// eachImage calls f with the path and value of every image reference of action in input
// (an Image input, or a non-empty item of a list of them).
func eachImage(action string, input map[string]any, f func(path []any, s string)) {
	a, ok := Lookup(action)
	if !ok {
		return
	}
	for i := range a.Inputs {
		in := &a.Inputs[i]
		v := input[in.Name]
		switch {
		case in.Kind == Image:
			if s, ok := v.(string); ok {
				f([]any{in.Name}, s)
			}
		case in.Kind == List && in.Item != nil && in.Item.Kind == Image:
			list, _ := v.([]any)
			for k, item := range list {
				if s, ok := item.(string); ok && s != "" {
					f([]any{in.Name, k}, s)
				}
			}
		}
	}
}

// allowedImageTypes are the types the server's image code takes from a data: URL.
var allowedImageTypes = []string{"image/jpeg", "image/jpg", "image/png", "image/webp"}

var imagePatterns struct {
	once         sync.Once
	dataURL, b64 *regexp.Regexp
}

func imageRegexps() (dataURL, base64 *regexp.Regexp) {
	imagePatterns.once.Do(func() {
		// The server's data URL pattern (src/lib/brand-extraction.ts); JavaScript's . stops
		// at line terminators.
		imagePatterns.dataURL = regexp.MustCompile(`^data:([a-zA-Z0-9/+.-]+);base64,([^\n\r\x{2028}\x{2029}]+)$`)
		imagePatterns.b64 = regexp.MustCompile(`^[A-Za-z0-9+/=_\-\s]*$`)
	})
	return imagePatterns.dataURL, imagePatterns.b64
}

// ImageNote says what the server will do wrong with image reference s, or "" when it reads
// it as meant (an https URL, a data: URL of an image type it takes, or base64).
func ImageNote(s string) string {
	t := jsTrim(s)
	dataURL, base64 := imageRegexps()
	if strings.HasPrefix(t, "https://") {
		if _, err := ParseWebURL(t); err != nil {
			return fmt.Sprintf("the server fetches it and will fail the job: not a valid URL (%v)", err)
		}
		return ""
	}
	if m := dataURL.FindStringSubmatch(t); m != nil {
		if typ := strings.ToLower(m[1]); !containsString(allowedImageTypes, typ) {
			return fmt.Sprintf("the server will fail the job: it takes image/jpeg, image/png or image/webp, not %s", typ)
		}
		return ""
	}
	lower := strings.ToLower(t)
	const decoded = "it will decode this one as base64 and send the bytes as a PNG image"
	switch {
	case t == "":
		return "blank: the server decodes it as an empty image"
	case strings.HasPrefix(lower, "http://"):
		return "the server fetches only https:// URLs: " + decoded + " (use https://)"
	case strings.HasPrefix(lower, "https://"):
		return "the server fetches a URL only when it starts with https:// in lowercase: " + decoded + " (write https://)"
	case strings.HasPrefix(lower, "data:"):
		return "the server reads a data: URL only as data:<image type>;base64,<data>: " + decoded
	case !base64.MatchString(t):
		return "not an https URL, a data: URL or base64: the server will decode it as base64 anyway, skipping what is not base64, and send the bytes as a PNG image"
	}
	return ""
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
