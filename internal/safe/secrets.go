package safe

import (
	"regexp"
	"strings"
	"sync"
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

// SecretsText is Secrets for text shown without a name (an error message, a line).
func SecretsText(s string) string {
	if !mayHoldSecret(s) {
		return s
	}
	secretExprs.once.Do(compileSecretExprs)
	x := &secretExprs
	s = x.urlPassword.ReplaceAllString(s, "${1}:"+Redacted+"@")
	s = x.queryParam.ReplaceAllStringFunc(s, func(m string) string {
		name, _, _ := strings.Cut(m[1:], "=")
		if !SecretName(name) {
			return m
		}
		return m[:1] + name + "=" + Redacted
	})
	s = x.headerValue.ReplaceAllString(s, "${1}${2}"+Redacted)
	return x.authScheme.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.IndexFunc(m, unicode.IsSpace)
		if i < 0 || !credentialLike(strings.TrimLeftFunc(m[i:], unicode.IsSpace)) {
			return m // "Basic authentication": words, not credentials
		}
		return m[:i] + " " + Redacted
	})
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

// secretExprs are the expressions of SecretsText, compiled on first use (not at every
// pi start).
var secretExprs struct {
	once sync.Once
	// urlPassword is the user:password@ of a URL (the scheme kept, the password hidden).
	urlPassword *regexp.Regexp
	// queryParam is one name=value of a URL's query.
	queryParam *regexp.Regexp
	// authScheme is the credentials of an Authorization value (Bearer x, Basic x).
	authScheme *regexp.Regexp
	// headerValue is the value of an Authorization or Cookie header quoted in text.
	headerValue *regexp.Regexp
}

func compileSecretExprs() {
	x := &secretExprs
	x.urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/?#\s:@"'<>]*):[^/?#\s@"'<>]*@`)
	x.queryParam = regexp.MustCompile(`[?&;][^=&;#\s"'<>]+=[^&;#\s"'<>]*`)
	x.authScheme = regexp.MustCompile(`(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)
	x.headerValue = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|(?:set-)?cookie)(\s*[:=]\s*)[^\s"'<>][^\r\n"'<>]*`)
}

// mayHoldSecret is a quick test before the expressions run: most text has no URL, query,
// header or authorization scheme in it.
func mayHoldSecret(s string) bool {
	return strings.ContainsAny(s, ":?&=") || containsFold(s, "bearer") || containsFold(s, "basic")
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
