package pipeline

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ids names the expansions of g, one per combination: the matrix step's id and a slug of
// each value (localize-french-urban-premium); the combination's 1-based index instead when
// a slug is empty, too long or already taken (taken holds every id given so far). order
// gives a mapping value's keys in the order the file writes them (Source.writtenOrder).
func ids(base string, g *group, combos [][]int, taken map[string]bool, order keyOrder) []string {
	out := make([]string, len(combos))
	readable := make([]bool, len(combos))
	for c, combo := range combos {
		parts := []string{base}
		ok := true
		for a, ax := range g.axes {
			sl := slug(ax.values[combo[a]], func(m map[string]any) []string { return order(ax.paths[combo[a]], m) })
			if sl == "" {
				ok = false
			}
			parts = append(parts, sl)
		}
		id := strings.Join(parts, "-")
		if ok && utf8.RuneCountInString(id) <= MaxIDLength && !taken[id] {
			out[c], readable[c] = id, true
			taken[id] = true
		}
	}
	for c := range combos {
		if !readable[c] {
			out[c] = indexID(base, c+1, taken)
		}
	}
	return out
}

// indexID names combination n of base by its index: base-n, or base-n-k when that is
// taken; base is cut so the id has at most MaxIDLength characters.
func indexID(base string, n int, taken map[string]bool) string {
	for k := 1; ; k++ {
		suffix := "-" + strconv.Itoa(n)
		if k > 1 {
			suffix += "-" + strconv.Itoa(k)
		}
		r := []rune(base)
		if len(r)+len(suffix) > MaxIDLength {
			r = r[:MaxIDLength-len(suffix)]
		}
		id := string(r) + suffix
		if !taken[id] {
			taken[id] = true
			return id
		}
	}
}

// slug makes a value readable in an id: lower-case letters and digits, other runs of
// characters as one "-". A mapping item is named by its id or name field, else by all its
// scalar fields in the order keys gives (the file's).
func slug(v any, keys func(map[string]any) []string) string {
	if m, ok := v.(map[string]any); ok {
		for _, k := range []string{"id", "name"} {
			if s, ok := scalarText(m[k]); ok {
				return slugText(s)
			}
		}
		var parts []string
		for _, k := range keys(m) {
			if s, ok := scalarText(m[k]); ok {
				if sl := slugText(s); sl != "" {
					parts = append(parts, sl)
				}
			}
		}
		return strings.Join(parts, "-")
	}
	s, _ := scalarText(v)
	return slugText(s)
}

func scalarText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(t), true
	}
	return "", false
}

func slugText(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// keyOrder gives the keys of m, a matrix value written at path (from its step:
// matrix.NAME.j), in the order the file writes them.
type keyOrder func(path string, m map[string]any) []string

// writtenOrder is the keyOrder of the matrix values of step i (of the pipeline as
// decoded): a literal mapping item's keys by where the file writes them. A key whose place
// is not known (an item from a param, which -p may give as JSON, whose keys have no order)
// comes after those that are, in sorted order.
func (s *Source) writtenOrder(i int) keyOrder {
	return func(path string, m map[string]any) []string {
		keys := slices.Sorted(maps.Keys(m))
		if s == nil {
			return keys
		}
		known := func(k string) (Pos, bool) {
			rel := path + "." + k
			if strings.Contains(k, ".") || !s.known(i, rel) {
				return Pos{}, false
			}
			return s.stepPos(i, rel, true), true
		}
		slices.SortStableFunc(keys, func(a, b string) int {
			pa, ka := known(a)
			pb, kb := known(b)
			switch {
			case ka != kb:
				if ka {
					return -1
				}
				return 1
			case pa.Line != pb.Line:
				return pa.Line - pb.Line
			}
			return pa.Column - pb.Column
		})
		return keys
	}
}

// canonical is a value's JSON with sorted keys: equal values, equal strings.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}
