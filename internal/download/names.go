package download

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/pi-cli/pi/internal/run"
)

// fileBases gives every step a distinct, safe file name (without extension): its id with
// anything but letters, digits, '-', '_' and '.' replaced, never starting with a dot, so a
// step id can never name a path outside the directory. Names are compared as file systems
// that fold case do.
func fileBases(r *run.Run) map[string]string {
	out := make(map[string]string, len(r.Steps))
	used := map[string]bool{ManifestName: true, lockName: true}
	for i := range r.Steps {
		id := r.Steps[i].ID
		if _, done := out[id]; done {
			continue
		}
		name := safeBase(id)
		if used[strings.ToLower(name)] || name != id {
			// Another step has the name or the id was changed to make it: a hash of the
			// id keeps names apart. The hashed name is checked too (the step "x_-074ab1"
			// may exist beside "x?"), growing the hash, then counting, until it is free.
			name = hashedBase(name, id, used)
		}
		used[strings.ToLower(name)] = true
		out[id] = name
	}
	return out
}

func safeBase(id string) string {
	var b strings.Builder
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.TrimLeft(b.String(), ".")
	if name == "" {
		name = "step"
	}
	return name
}

func hashedBase(name, id string, used map[string]bool) string {
	sum := sha256.Sum256([]byte(id))
	for n := 3; n <= len(sum); n += 3 {
		if c := name + "-" + hex.EncodeToString(sum[:n]); !used[strings.ToLower(c)] {
			return c
		}
	}
	for k := 2; ; k++ {
		if c := name + "-" + hex.EncodeToString(sum[:3]) + "-" + strconv.Itoa(k); !used[strings.ToLower(c)] {
			return c
		}
	}
}
