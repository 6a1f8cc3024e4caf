package safe

import (
	"slices"
	"strings"
	"unicode"
)

// Secrets hides what looks like a credential in v, which is shown under the name key (a
// header, an environment variable, an input; "" for text): the whole value of a
// secret-like name (Authorization, Cookie, Proxy-Authorization, anything named like a
// token, secret, password or key), and inside text the password of a URL
// (https://user:[redacted]@host), the value of a secret-like query parameter
// (?access_token=[redacted]) and the credentials after Bearer or Basic. Maps and lists are
// walked, each value under its own name; v itself is never changed (what holds a secret is
// copied). It is the one set of rules for the report, progress lines, tables, summaries,
// annotations and error messages.
func Secrets(key string, v any) any {
	out, _ := secrets(key, v)
	return out
}

// SecretsText is Secrets for text shown without a name (an error message, a line). It
// scans the text once per kind of secret, without regular expressions: an error of a
// megabyte is shown in several places.
func SecretsText(s string) string {
	if !mayHoldSecret(s) {
		return s
	}
	lower := asciiLower(s)
	var spans []span
	spans = urlSecrets(s, spans)
	spans = headerSecrets(s, lower, spans)
	spans = schemeSecrets(s, lower, spans)
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from - b.from })
	var b strings.Builder
	b.Grow(len(s))
	at := 0
	for _, sp := range spans {
		if sp.to <= at {
			continue // inside a span already replaced
		}
		b.WriteString(s[at:max(at, sp.from)])
		b.WriteString(Redacted)
		at = sp.to
	}
	b.WriteString(s[at:])
	return b.String()
}

// span is a part of a text to hide: s[from:to].
type span struct{ from, to int }

// urlSecrets finds, in every URL of s, the password of its user:password@ and the value of
// each query parameter named like a secret (access_token=..., apiKey=...).
func urlSecrets(s string, out []span) []span {
	for i := 0; ; {
		j := strings.Index(s[i:], "://")
		if j < 0 {
			return out
		}
		start := i + j + 3
		end := start + indexAny(s[start:], urlEnd)
		authEnd := start + indexAny(s[start:end], "/?#")
		if at := strings.LastIndexByte(s[start:authEnd], '@'); at >= 0 {
			if colon := strings.IndexByte(s[start:start+at], ':'); colon >= 0 && colon+1 < at {
				out = append(out, span{start + colon + 1, start + at})
			}
		}
		if q := strings.IndexByte(s[authEnd:end], '?'); q >= 0 {
			queryEnd := authEnd + q + 1 + indexAny(s[authEnd+q+1:end], "#")
			out = querySecrets(s, authEnd+q+1, queryEnd, out)
		}
		i = max(end, start)
	}
}

// urlEnd are the bytes that end a URL written in text.
const urlEnd = " \t\r\n\"'<>`"

// querySecrets finds the values of secret-like parameters in s[from:to], a URL's query.
func querySecrets(s string, from, to int, out []span) []span {
	for p := from; p < to; {
		e := p + indexAny(s[p:to], "&;")
		if eq := strings.IndexByte(s[p:e], '='); eq > 0 && eq+1 < e-p && SecretName(s[p:p+eq]) {
			out = append(out, span{p + eq + 1, e})
		}
		p = e + 1
	}
	return out
}

// headerSecrets finds the value of an Authorization, Proxy-Authorization, Cookie or
// Set-Cookie header quoted in text ("Cookie: a=b; c=d"), to the end of its line.
func headerSecrets(s, lower string, out []span) []span {
	for _, name := range []string{"authorization", "cookie"} {
		for i := 0; ; {
			j := strings.Index(lower[i:], name)
			if j < 0 {
				break
			}
			p := i + j
			i = p + len(name)
			if p > 0 && isWordByte(s[p-1]) {
				continue
			}
			k := i + skipBlanks(s[i:])
			if k >= len(s) || (s[k] != ':' && s[k] != '=') {
				continue
			}
			v := k + 1 + skipBlanks(s[k+1:])
			e := v + indexAny(s[v:], "\r\n\"'<>")
			if e > v {
				out = append(out, span{v, e})
			}
		}
	}
	return out
}

// schemeSecrets finds the credentials after Bearer or Basic ("Bearer eyJ..."), when they
// look like credentials and not words ("Basic authentication").
func schemeSecrets(s, lower string, out []span) []span {
	for _, name := range []string{"bearer", "basic"} {
		for i := 0; ; {
			j := strings.Index(lower[i:], name)
			if j < 0 {
				break
			}
			p := i + j
			i = p + len(name)
			if p > 0 && isWordByte(s[p-1]) || i >= len(s) || (s[i] != ' ' && s[i] != '\t') {
				continue
			}
			v := i + skipBlanks(s[i:])
			e := v
			for e < len(s) && isTokenByte(s[e]) {
				e++
			}
			if e-v >= 8 && credentialLike(s[v:e]) {
				out = append(out, span{v, e})
			}
		}
	}
	return out
}

func indexAny(s, chars string) int {
	if i := strings.IndexAny(s, chars); i >= 0 {
		return i
	}
	return len(s)
}

func skipBlanks(s string) int {
	n := 0
	for n < len(s) && (s[n] == ' ' || s[n] == '\t') {
		n++
	}
	return n
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isTokenByte(c byte) bool {
	return isWordByte(c) || strings.IndexByte("-._~+/=", c) >= 0
}

// asciiLower is s with ASCII letters in lower case, byte for byte (so indexes match s).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// credentialLike tells a credential from a word: a digit or a symbol in it, or a capital
// letter past its first character (base64, a JWT, a hex or random token).
func credentialLike(s string) bool {
	for i, r := range s {
		if !unicode.IsLetter(r) || (i > 0 && unicode.IsUpper(r)) {
			return true
		}
	}
	return false
}

func secrets(key string, v any) (any, bool) {
	if key != "" && SecretName(key) {
		if v == nil || v == "" {
			return v, false
		}
		return Redacted, true
	}
	switch x := v.(type) {
	case string:
		y := SecretsText(x)
		return y, y != x
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			if ne, changed := secrets(k, e); changed {
				if out == nil {
					out = make(map[string]any, len(x))
					for k2, e2 := range x {
						out[k2] = e2
					}
				}
				out[k] = ne
			}
		}
		if out == nil {
			return x, false
		}
		return out, true
	case map[string]string:
		var out map[string]string
		for k, e := range x {
			if ne, changed := secrets(k, e); changed {
				if out == nil {
					out = make(map[string]string, len(x))
					for k2, e2 := range x {
						out[k2] = e2
					}
				}
				out[k] = ne.(string)
			}
		}
		if out == nil {
			return x, false
		}
		return out, true
	case []any:
		var out []any
		for i, e := range x {
			if ne, changed := secrets("", e); changed {
				if out == nil {
					out = append([]any(nil), x...)
				}
				out[i] = ne
			}
		}
		if out == nil {
			return x, false
		}
		return out, true
	}
	return v, false
}

// secretWord reports a word of a name that says its value is a credential (a switch, not
// a map: nothing is built at pi's start).
func secretWord(w string) bool {
	switch w {
	case "authorization", "auth", "cookie", "token", "secret", "password", "passwd", "pwd", "pass",
		"key", "apikey", "credential", "credentials", "session", "signature", "bearer", "private", "jwt":
		return true
	}
	return false
}

// SecretName reports whether a header, variable, input or parameter of this name holds a
// credential: one of its words (split at '-', '_', '.', spaces and case changes:
// X-Api-Key, GITHUB_TOKEN, clientSecret, set-cookie) is a secret word, or it ends in one
// (accesstoken, apikey).
func SecretName(name string) bool {
	for _, w := range nameWords(name) {
		if secretWord(w) {
			return true
		}
		for _, suffix := range []string{"token", "secret", "password", "passwd", "apikey", "cookie"} {
			if strings.HasSuffix(w, suffix) {
				return true
			}
		}
	}
	return false
}

// nameWords splits a name into lower-case words.
func nameWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prevLower := false
	for _, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			prevLower = false
			continue
		case unicode.IsUpper(r) && prevLower:
			flush()
		}
		cur = append(cur, r)
		prevLower = unicode.IsLower(r)
	}
	flush()
	return words
}

// mayHoldSecret is a quick test before the scans: most text has no URL, header or
// authorization scheme in it.
func mayHoldSecret(s string) bool {
	return strings.Contains(s, "://") || containsFold(s, "authorization") || containsFold(s, "cookie") ||
		containsFold(s, "bearer") || containsFold(s, "basic")
}

// containsFold reports whether s contains the lower-case ASCII word sub, in any case.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if (s[i]|0x20) == sub[0] && strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
