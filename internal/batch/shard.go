package batch

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/pi-cli/pi/internal/cache"
)

// Shard is --shard I/N: the rows whose key falls in part I of N (from 1).
type Shard struct{ I, N int }

// MaxShards bounds N: more runners than that is a mistake.
const MaxShards = 1000

// ParseShard reads "I/N" (1 <= I <= N).
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("--shard %s: want I/N, such as 1/4 (this runner's part, of N)", s)
	}
	if n < 1 || n > MaxShards || i < 1 || i > n {
		return Shard{}, fmt.Errorf("--shard %s: want 1 <= I <= N <= %d", s, MaxShards)
	}
	return Shard{I: i, N: n}, nil
}

func (s Shard) String() string {
	if s.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Key is what decides a row's shard: a hash of its canonical content (cache.Canonical of
// its params), so it stays the row's wherever the row is in the file.
func Key(params map[string]string) uint64 {
	m := make(map[string]any, len(params))
	for k, v := range params {
		m[k] = v
	}
	b, err := cache.Canonical(m)
	if err != nil { // strings only: cannot happen
		panic(err)
	}
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:8])
}

// Has reports whether the row of these params is in the shard (every row without one).
func (s Shard) Has(params map[string]string) bool {
	if s.N <= 1 {
		return true
	}
	return Key(params)%uint64(s.N) == uint64(s.I-1)
}

// Select is the rows of the shard, in the file's order.
func (s Shard) Select(rows []Row) []Row {
	if s.N <= 1 {
		return rows
	}
	var out []Row
	for _, r := range rows {
		if s.Has(r.Params) {
			out = append(out, r)
		}
	}
	return out
}
