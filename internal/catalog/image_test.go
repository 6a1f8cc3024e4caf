package catalog

import (
	"strings"
	"testing"
)

// What the server's image code makes of a reference (src/lib/ads/reference-inputs.ts and
// parseBase64Asset in src/lib/brand-extraction.ts): the schema took each of these.
func TestImageNote(t *testing.T) {
	for _, tt := range []struct {
		in, want string // want: a word of the note, "" for none
	}{
		{"https://cdn.example.com/a.png", ""},
		{"  https://cdn.example.com/a.png\n", ""}, // trimmed, then fetched
		{"data:image/png;base64,iVBORw0KGgo=", ""},
		{"data:IMAGE/WEBP;base64,UklGRg==", ""},
		{"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk", ""},
		{"iVBORw0K\nGgo=", ""},
		{"http://cdn.example.com/a.png", "only https://"},
		{"HTTPS://cdn.example.com/a.png", "in lowercase"},
		{"https://exa mple.com/a.png", "not a valid URL"},
		{"https://", "not a valid URL"},
		{"data:,x", "data:<image type>;base64"},
		{"data:image/png;base64,iVBOR\nw0KGgo=", "data:<image type>;base64"},
		{"data:image/gif;base64,R0lGOD", "not image/gif"},
		{"not base64!", "skipping what is not base64"},
		{"ad.png", "skipping what is not base64"},
		{" ", "empty image"},
	} {
		got := ImageNote(tt.in)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("ImageNote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	notes := Notes("campaigns.localize_ad", map[string]any{"source_image_url": "http://x.test/a.png",
		"reference_images": []any{"https://x.test/ok.png", "HTTPS://x.test/b.png", 5, ""}})
	if len(notes) != 2 || JoinPath(notes[0].Path) != "source_image_url" || JoinPath(notes[1].Path) != "reference_images.1" {
		t.Errorf("Notes: %+v", notes)
	}
}

// The references whose reading throws in the server's image code, so that the job fails
// with its message (src/lib/ads/reference-inputs.ts: parseUrlImage's "reference image URL
// is invalid.", assertAllowedMime's "Unsupported reference image type: ..."); every other
// reference is read, or misread without failing.
func TestImageJobError(t *testing.T) {
	for _, tt := range []struct {
		refs []any
		want string
	}{
		{[]any{"https://cdn.example.com/a.png", "data:image/png;base64,iVBORw0KGgo="}, ""},
		{[]any{"http://cdn.example.com/a.png", "not base64!", "data:,x"}, ""}, // misread, not failed
		{[]any{"https://ok.example.com/a.png", "data:image/gif;base64,R0lGOD"}, "Unsupported reference image type: image/gif"},
		{[]any{"data:Image/SVG+xml;base64,PHN2Zz4="}, "Unsupported reference image type: image/svg+xml"},
		{[]any{"https://exa mple.com/a.png", "data:image/gif;base64,R0lGOD"}, "reference image URL is invalid."},
	} {
		if got := ImageJobError("campaigns.generate", map[string]any{"prompt": "p", "reference_images": tt.refs}); got != tt.want {
			t.Errorf("ImageJobError(%q) = %q, want %q", tt.refs, got, tt.want)
		}
	}
	if got := ImageJobError("campaigns.localize_ad", map[string]any{"source_image_url": "data:image/bmp;base64,Qk0="}); got != "Unsupported reference image type: image/bmp" {
		t.Errorf("source_image_url: %q", got)
	}
	if got := ImageJobError("brands.extract", map[string]any{"url": "https://exa mple.com"}); got != "" {
		t.Errorf("brands.extract has no image reference: %q", got)
	}
}
