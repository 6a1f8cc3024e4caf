package sandbox

import (
	"crypto/sha256"
	"encoding/json"
)

// maxIdempotencyKeys bounds the keys remembered; the oldest are forgotten first.
const maxIdempotencyKeys = 10000

// idemEntry is what a key was first used for: the endpoint and body, and the job created.
type idemEntry struct {
	sum   [32]byte
	jobID string
}

// idemStore remembers the Idempotency-Keys of the campaign endpoints, in memory.
type idemStore struct {
	m     map[string]idemEntry
	order []string
}

func (st *idemStore) get(key string) (idemEntry, bool) {
	e, ok := st.m[key]
	return e, ok
}

func (st *idemStore) put(key string, e idemEntry) {
	if st.m == nil {
		st.m = map[string]idemEntry{}
	}
	if len(st.order) >= maxIdempotencyKeys {
		delete(st.m, st.order[0])
		st.order = st.order[1:]
	}
	st.m[key] = e
	st.order = append(st.order, key)
}

// bodySum identifies an endpoint and a body: the same JSON object (whatever its key order
// or spacing) gives the same sum.
func bodySum(endpoint string, body map[string]any) [32]byte {
	b, _ := json.Marshal(body) // map keys sorted: a canonical form
	return sha256.Sum256(append([]byte(endpoint+"\n"), b...))
}
