package sandbox

import (
	"image"
	"strings"
	"sync"
	"unicode"
)

// A 5x7 bitmap font for the labels of the simulated ads: upper-case letters, digits and
// common punctuation. Drawing a few characters needs no font package (golang.org/x/image
// would be a new dependency for one label per picture).
const (
	glyphW = 5
	glyphH = 7
)

// font holds the tables, built on first use: only a simulated server drawing an ad needs
// them, not every pi process at start-up.
var font struct {
	once sync.Once
	// glyphs maps a character to its 7 rows of 5 columns ('#' is ink).
	glyphs map[rune][glyphH]string
	// folded spells accented Latin letters with the font's letters.
	folded map[rune]string
}

func fontTables() (glyphs map[rune][glyphH]string, folded map[rune]string) {
	font.once.Do(buildFont)
	return font.glyphs, font.folded
}

func buildFont() {
	font.glyphs = map[rune][glyphH]string{
		'A':  {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
		'B':  {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."},
		'C':  {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."},
		'D':  {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."},
		'E':  {"#####", "#....", "#....", "####.", "#....", "#....", "#####"},
		'F':  {"#####", "#....", "#....", "####.", "#....", "#....", "#...."},
		'G':  {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"},
		'H':  {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
		'I':  {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."},
		'J':  {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."},
		'K':  {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"},
		'L':  {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
		'M':  {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"},
		'N':  {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"},
		'O':  {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
		'P':  {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
		'Q':  {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"},
		'R':  {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
		'S':  {".####", "#....", "#....", ".###.", "....#", "....#", "####."},
		'T':  {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."},
		'U':  {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
		'V':  {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."},
		'W':  {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."},
		'X':  {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"},
		'Y':  {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."},
		'Z':  {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"},
		'0':  {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
		'1':  {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
		'2':  {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
		'3':  {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
		'4':  {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
		'5':  {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
		'6':  {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
		'7':  {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
		'8':  {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
		'9':  {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
		'-':  {".....", ".....", ".....", "#####", ".....", ".....", "....."},
		'.':  {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."},
		',':  {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."},
		'\'': {"..#..", "..#..", ".#...", ".....", ".....", ".....", "....."},
		'!':  {"..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."},
		'?':  {".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."},
		'/':  {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."},
		'&':  {".##..", "#..#.", "#.#..", ".#...", "#.#.#", "#..#.", ".##.#"},
		'+':  {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."},
		':':  {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."},
		'%':  {"##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"},
		'$':  {"..#..", ".####", "#.#..", ".###.", "..#.#", "####.", "..#.."},
		'#':  {".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."},
		'(':  {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."},
		')':  {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."},
		'·':  {".....", ".....", ".....", "..#..", ".....", ".....", "....."},
		' ':  {".....", ".....", ".....", ".....", ".....", ".....", "....."},
	}
	font.folded = map[rune]string{
		'À': "A", 'Á': "A", 'Â': "A", 'Ã': "A", 'Ä': "A", 'Å': "A", 'Æ': "AE", 'Ç': "C",
		'È': "E", 'É': "E", 'Ê': "E", 'Ë': "E", 'Ì': "I", 'Í': "I", 'Î': "I", 'Ï': "I",
		'Ñ': "N", 'Ò': "O", 'Ó': "O", 'Ô': "O", 'Õ': "O", 'Ö': "O", 'Ø': "O", 'Ù': "U",
		'Ú': "U", 'Û': "U", 'Ü': "U", 'Ý': "Y", 'ß': "SS", 'Œ': "OE", 'Ł': "L", 'Š': "S",
		'Ž': "Z", 'Č': "C", 'Ř': "R", 'Ğ': "G", 'İ': "I", 'Ş': "S",
	}
}

// labelText is s in the font's characters: upper case, accents folded, runs of space and
// anything the font cannot draw shown as one space.
func labelText(s string) string {
	glyphs, folded := fontTables()
	var b strings.Builder
	space := true // no leading space
	for _, r := range s {
		r = unicode.ToUpper(r)
		out := string(r)
		if f, ok := folded[r]; ok {
			out = f
		} else if _, ok := glyphs[r]; !ok || r == ' ' {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		b.WriteString(out)
		space = false
	}
	return strings.TrimRight(b.String(), " ")
}

// drawText draws s (already labelText) at x, y (its top left) with each font pixel a
// scale x scale square of colour index ink. Pixels outside img are dropped.
func drawText(img *image.Paletted, s string, x, y, scale int, ink uint8) {
	glyphs, _ := fontTables()
	for _, r := range s {
		g := glyphs[r]
		for row := 0; row < glyphH; row++ {
			for col := 0; col < glyphW; col++ {
				if g[row][col] != '#' {
					continue
				}
				fillRect(img, image.Rect(x+col*scale, y+row*scale, x+(col+1)*scale, y+(row+1)*scale), ink)
			}
		}
		x += (glyphW + 1) * scale
	}
}

// textWidth is how wide drawText draws s.
func textWidth(s string, scale int) int {
	n := len([]rune(s))
	if n == 0 {
		return 0
	}
	return (n*(glyphW+1) - 1) * scale
}

// fillRect paints r (clipped to img) with colour index c.
func fillRect(img *image.Paletted, r image.Rectangle, c uint8) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := img.PixOffset(r.Min.X, y)
		row := img.Pix[i : i+r.Dx()]
		for k := range row {
			row[k] = c
		}
	}
}
