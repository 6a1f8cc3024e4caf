// Package safe owns what untrusted text may look like once pi shows or stores it: secrets
// (the API key) are redacted wherever a server or a child process echoes them, and control
// characters are escaped at every print boundary, so no server or file can forge terminal
// sequences or CI workflow commands.
package safe

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Redacted replaces a secret wherever it appears.
const Redacted = "[redacted]"

// minSecret is the shortest value treated as a secret: redacting "a" would mangle every text.
const minSecret = 8

// Redactor replaces known secrets in text. The zero value and nil redact nothing.
type Redactor struct {
	secrets []string
}

// NewRedactor redacts each non-empty secret (values shorter than 8 bytes are ignored: they
// are not keys, and replacing them would garble ordinary text).
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if len(s) >= minSecret {
			r.secrets = append(r.secrets, s)
		}
	}
	return r
}

// Active reports whether r has a secret to redact.
func (r *Redactor) Active() bool { return r != nil && len(r.secrets) > 0 }

// String redacts s.
func (r *Redactor) String(s string) string {
	if !r.Active() {
		return s
	}
	for _, k := range r.secrets {
		if strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, Redacted)
		}
	}
	return s
}

// Bytes redacts b (b itself is returned when there is nothing to replace).
func (r *Redactor) Bytes(b []byte) []byte {
	if !r.Active() {
		return b
	}
	for _, k := range r.secrets {
		if bytes.Contains(b, []byte(k)) {
			b = bytes.ReplaceAll(b, []byte(k), []byte(Redacted))
		}
	}
	return b
}

// JSON redacts a JSON document: the plain text, and also strings that spell the secret
// with \u escapes (a server can write "pi\u005flive..." as well as "pi_live..."). The
// escaped form is only looked for when the document has an escape at all, so ordinary
// answers cost one scan.
func (r *Redactor) JSON(b []byte) []byte {
	if !r.Active() {
		return b
	}
	b = r.Bytes(b)
	if !bytes.Contains(b, []byte(`\u`)) {
		return b
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return b // not JSON: the plain replacement is all there is to do
	}
	changed := false
	v = r.value(v, &changed)
	if !changed {
		return b
	}
	out, err := json.Marshal(v)
	if err != nil {
		return b
	}
	return out
}

// Value redacts every string (and map key) inside v, as decoded from JSON or YAML; maps
// and slices are changed in place.
func (r *Redactor) Value(v any) any {
	if !r.Active() {
		return v
	}
	changed := false
	return r.value(v, &changed)
}

func (r *Redactor) value(v any, changed *bool) any {
	switch x := v.(type) {
	case string:
		if y := r.String(x); y != x {
			*changed = true
			return y
		}
		return x
	case map[string]any:
		for k, e := range x {
			nk := r.String(k)
			ne := r.value(e, changed)
			if nk != k {
				*changed = true
				delete(x, k)
			}
			x[nk] = ne
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = r.value(e, changed)
		}
		return x
	}
	return v
}
