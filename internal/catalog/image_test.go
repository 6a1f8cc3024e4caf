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
