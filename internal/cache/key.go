package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pi-cli/pi/internal/catalog"
)

// Sandbox is the server identity of pi's in-process simulated server (--sandbox).
const Sandbox = "sandbox"

// Local is the server identity of the local actions (shell.run, http.request with
// `cache: true`): their results come from this machine, not from a server.
const Local = "local"

// Key identifies a step's job in the cache. pi computes it; users never write it.
type Key struct {
	Action string
	// Contract is the action's contract version in the catalog (catalog.Action.Contract).
	Contract int
	// Input is the canonical JSON of the step's resolved input (after params, matrix and
	// input_map): upstream job ids are part of it, so a new job upstream is a new key.
	Input []byte
	// Server says whose jobs they are: ServerIdentity, Sandbox or Local.
	Server string
	// Variant tells apart results of the same input: `--reroll STEP` makes the next one.
	Variant int
}

// NewKey is the key of variant 0 of a step of action whose input resolved to input, run
// on server (a local action's server is always Local: its result comes from this machine).
// The action must be in the catalog.
func NewKey(action string, input map[string]any, server string) (Key, error) {
	a, ok := catalog.Lookup(action)
	if !ok {
		return Key{}, fmt.Errorf("cache key: unknown action %q", action)
	}
	if a.Local {
		server = Local
	}
	if input == nil {
		input = map[string]any{}
	}
	in, err := Canonical(input)
	if err != nil {
		return Key{}, fmt.Errorf("cache key of a %s step: %w", action, err)
	}
	return Key{Action: action, Contract: a.Contract, Input: in, Server: server}, nil
}

// Base is the key without its variant, as hex: every variant of one step input shares it.
func (k Key) Base() string {
	h := sha256.New()
	fmt.Fprintf(h, "pi step cache 1\naction %q\ncontract %d\nserver %q\ninput ", k.Action, k.Contract, k.Server)
	h.Write(k.Input)
	return hex.EncodeToString(h.Sum(nil))
}

// Digest is the whole key, variant included, as hex.
func (k Key) Digest() string {
	sum := sha256.Sum256([]byte(k.Base() + "\nvariant " + strconv.Itoa(k.Variant)))
	return hex.EncodeToString(sum[:])
}

// ServerIdentity names a Pi server and the account whose jobs the cache may reuse: the
// base URL (scheme and host lower-cased, no trailing slash) and a short hash of the API key
// (never the key itself), so another key's jobs are never offered (another organisation's
// job is a 404 to this one).
func ServerIdentity(baseURL, apiKey string) string {
	id := strings.TrimRight(strings.TrimSpace(baseURL), "/")
	if u, err := url.Parse(id); err == nil && u.Host != "" {
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		id = u.String()
	}
	if apiKey != "" {
		sum := sha256.Sum256([]byte("pi step cache key\x00" + apiKey))
		id += " key:" + hex.EncodeToString(sum[:8])
	}
	return id
}

// Canonical is the JSON of a decoded value with every object's keys sorted and numbers in
// one form (a whole number as its digits, 1.0 as 1; others in the shortest form that reads
// back the same), so two inputs that mean the same have the same bytes whether they came
// from YAML, JSON or a step result.
func Canonical(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := canon(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func canon(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		writeString(b, x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float64:
		return writeFloat(b, x)
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			b.WriteString(strconv.FormatInt(n, 10))
			return nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return fmt.Errorf("number %q: %w", x, err)
		}
		return writeFloat(b, f)
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			if err := canon(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := canon(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		// Other types (map[string]string, []string, ...): through their JSON.
		raw, err := json.Marshal(x)
		if err != nil {
			return err
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var y any
		if err := d.Decode(&y); err != nil {
			return err
		}
		return canon(b, y)
	}
	return nil
}

func writeString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always encodes
	b.Write(q)
}

// writeFloat writes a whole number below 1e21 as its digits, anything else in the
// shortest form that reads back the same; -0 is 0.
func writeFloat(b *bytes.Buffer, f float64) error {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return errors.New("a number JSON cannot hold (NaN or infinite)")
	case f == 0:
		b.WriteByte('0')
	case f == math.Trunc(f) && math.Abs(f) < 1e21:
		b.WriteString(strconv.FormatFloat(f, 'f', -1, 64))
	default:
		b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	}
	return nil
}
