package cache

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   any
		want string
	}{
		{"keys sorted at every level", map[string]any{"b": 1, "a": map[string]any{"y": true, "x": nil}}, `{"a":{"x":null,"y":true},"b":1}`},
		{"a whole float is its digits", map[string]any{"n": 3.0, "m": math.Copysign(0, -1), "big": 1e20}, `{"big":100000000000000000000,"m":0,"n":3}`},
		{"other floats in the shortest form", []any{0.1, 1e21, 2.5e-8}, `[0.1,1e+21,2.5e-08]`},
		{"json numbers like the rest", []any{json.Number("3"), json.Number("3.0"), json.Number("0.10")}, `[3,3,0.1]`},
		{"ints", []any{int(7), int64(-7), uint64(7)}, `[7,-7,7]`},
		{"strings as JSON writes them", "é \"q\" \n <", `"é \"q\" \n \u003c"`},
		{"other types through their JSON", map[string]any{"m": map[string]string{"z": "1", "a": "2"}, "l": []string{"x"}}, `{"l":["x"],"m":{"a":"2","z":"1"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonical(tt.in)
			if err != nil || string(got) != tt.want {
				t.Errorf("Canonical = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
	if _, err := Canonical([]any{math.NaN()}); err == nil {
		t.Error("NaN encoded")
	}
}

// The same input from YAML (ints) and from a JSON body (float64) is one key; any part of
// the key changing makes another.
func TestKey(t *testing.T) {
	const srv = "https://pi.example.com key:0011"
	yaml := map[string]any{"prompt": "hero", "output": map[string]any{"resolution": "1K"}, "n": 2}
	var fromJSON map[string]any
	if err := json.Unmarshal([]byte(`{"n": 2.0, "output": {"resolution": "1K"}, "prompt": "hero"}`), &fromJSON); err != nil {
		t.Fatal(err)
	}
	k1, err := NewKey("campaigns.generate", yaml, srv)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := NewKey("campaigns.generate", fromJSON, srv)
	if k1.Digest() != k2.Digest() || k1.Contract != 1 {
		t.Errorf("same input, two keys: %s %s", k1.Input, k2.Input)
	}
	seen := map[string]string{k1.Digest(): "original"}
	other := func(name string, k Key) {
		if prev, dup := seen[k.Digest()]; dup {
			t.Errorf("%s has the key of %s", name, prev)
		}
		seen[k.Digest()] = name
	}
	k, _ := NewKey("campaigns.generate", map[string]any{"prompt": "hero!", "output": map[string]any{"resolution": "1K"}, "n": 2}, srv)
	other("another prompt", k)
	k, _ = NewKey("campaigns.generate", yaml, "https://pi.example.com key:0012")
	other("another key", k)
	k, _ = NewKey("campaigns.generate", yaml, Sandbox)
	other("the sandbox", k)
	k = k1
	k.Contract = 2
	other("another contract", k)
	k = k1
	k.Action = "campaigns.edit"
	other("another action", k)
	k = k1
	k.Variant = 1
	other("another variant", k)
	if k.Base() != k1.Base() {
		t.Error("a variant changed the base")
	}
	if _, err := NewKey("nope.action", nil, srv); err == nil {
		t.Error("unknown action keyed")
	}
}

func TestServerIdentity(t *testing.T) {
	const key = "pi_live_secret_0123456789"
	a := ServerIdentity("HTTPS://Pi.Example.com/", key)
	b := ServerIdentity("https://pi.example.com", key)
	if a != b || !strings.HasPrefix(a, "https://pi.example.com key:") {
		t.Errorf("identities %q %q", a, b)
	}
	if strings.Contains(a, "secret") || strings.Contains(a, key) {
		t.Errorf("identity holds the key: %q", a)
	}
	if ServerIdentity("https://pi.example.com", "pi_live_other") == a {
		t.Error("two keys, one identity")
	}
	if ServerIdentity("https://pi.example.com", "") != "https://pi.example.com" {
		t.Error("no key")
	}
}
