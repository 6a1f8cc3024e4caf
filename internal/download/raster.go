package download

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
)

// sniffLen is how much of a body tells what it is.
const sniffLen = 512

// rasterExtension is the file extension of each image type pi keeps: raster images only.
// An SVG is a document that can carry scripts, and is refused with HTML and the rest.
func rasterExtension(kind string) string {
	switch kind {
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	case "image/avif":
		return ".avif"
	}
	return ".bin" // not reached: only rasterType's kinds are kept
}

// rasterType is the type of a raster image from its first bytes (a PNG, JPEG, GIF, WebP or
// AVIF signature), "" for anything else. The bytes decide, never the Content-Type header.
func rasterType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP")):
		return "image/webp"
	case isAVIF(b):
		return "image/avif"
	}
	return ""
}

// isAVIF reads an ISO BMFF ftyp box whose major or a compatible brand is avif or avis.
func isAVIF(b []byte) bool {
	if len(b) < 16 || !bytes.Equal(b[4:8], []byte("ftyp")) {
		return false
	}
	size := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if size < 16 || size > len(b) {
		size = len(b)
	}
	for i := 8; i+4 <= size; i += 4 {
		if i == 12 {
			continue // the minor version, not a brand
		}
		if brand := string(b[i : i+4]); brand == "avif" || brand == "avis" {
			return true
		}
	}
	return false
}

// notRaster says why a body is not kept: what the server called it, and what it looks
// like.
func notRaster(contentType string, head []byte) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	sniffed, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	if sniffed == "text/xml" && bytes.Contains(bytes.ToLower(head), []byte("<svg")) {
		sniffed = "image/svg+xml"
	}
	what := sniffed
	if mt != "" && mt != sniffed {
		what = fmt.Sprintf("%s (the server says %s)", sniffed, mt)
	}
	msg := "not a PNG, JPEG, GIF, WebP or AVIF image: its bytes are " + what + "; only raster images are kept"
	if sniffed == "image/svg+xml" || mt == "image/svg+xml" {
		msg += " (an SVG is a document that can carry scripts)"
	}
	return msg
}
