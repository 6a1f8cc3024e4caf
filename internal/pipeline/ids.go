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
// a slug is empty, too long or already taken (taken holds every id given so far).
func ids(base string, g *group, combos [][]int, taken map[string]bool) []string {
	out := make([]string, len(combos))
	readable := make([]bool, len(combos))
	for c, combo := range combos {
		parts := []string{base}
		ok := true
		for a, ax := range g.axes {
			sl := slug(ax.values[combo[a]])
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
// scalar fields in key order.
func slug(v any) string {
	if m, ok := v.(map[string]any); ok {
		for _, k := range []string{"id", "name"} {
			if s, ok := scalarText(m[k]); ok {
				return slugText(s)
			}
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
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

// canonical is a value's JSON with sorted keys: equal values, equal strings.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}
