package safe

import (
	"reflect"
	"strings"
	"testing"
)

func TestSecretsText(t *testing.T) {
	for in, want := range map[string]string{
		"GET https://deploy:hunter2@h.test/x: status 500":          "GET https://deploy:[redacted]@h.test/x: status 500",
		`Get "http://u:p%40ss@127.0.0.1:9/x?y=1": EOF`:             `Get "http://u:[redacted]@127.0.0.1:9/x?y=1": EOF`,
		"https://h.test/hook?access_token=abc123&x=1&apiKey=k9":    "https://h.test/hook?access_token=[redacted]&x=1&apiKey=[redacted]",
		"https://user@h.test/no-password":                          "https://user@h.test/no-password",
		"header Authorization: Bearer eyJhbGciOi.x-y_z":            "header Authorization: [redacted]",
		"sent Bearer sekr3t-bearer-token to it":                    "sent Bearer [redacted] to it",
		"Basic dXNlcjpwYXNz then":                                  "Basic [redacted] then",
		"Cookie: session=abc; theme=dark\nnext line":               "Cookie: [redacted]\nnext line",
		"missing Bearer authentication; basic information missing": "missing Bearer authentication; basic information missing",
		"a plain message: nothing secret = here":                   "a plain message: nothing secret = here",
		"":                                                         "",
	} {
		if got := SecretsText(in); got != want {
			t.Errorf("SecretsText(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "set-cookie": true,
		"X-Api-Key": true, "GITHUB_TOKEN": true, "clientSecret": true, "DB_PASSWORD": true,
		"accesstoken": true, "api_key": true, "PI_API_KEY": true, "x-auth-token": true,
		"Accept": false, "MODE": false, "Content-Type": false, "url": false, "prompt": false,
		"monkey": false, "keyboard": false, "HOME": false,
	} {
		if got := SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSecretsValue(t *testing.T) {
	in := map[string]any{
		"url":     "https://u:pw@h.test/x",
		"headers": map[string]any{"Authorization": "Bearer abc", "Accept": "text/plain"},
		"env":     map[string]any{"GITHUB_TOKEN": "ghp_x", "MODE": "fast"},
		"list":    []any{"https://a:b@c.test", 3},
		"prompt":  "an ad",
	}
	want := map[string]any{
		"url":     "https://u:[redacted]@h.test/x",
		"headers": map[string]any{"Authorization": Redacted, "Accept": "text/plain"},
		"env":     map[string]any{"GITHUB_TOKEN": Redacted, "MODE": "fast"},
		"list":    []any{"https://a:[redacted]@c.test", 3},
		"prompt":  "an ad",
	}
	if got := Secrets("", in); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if in["headers"].(map[string]any)["Authorization"] != "Bearer abc" {
		t.Error("the input was changed")
	}
	clean := map[string]any{"prompt": "x"}
	if got := Secrets("input", clean); reflect.ValueOf(got).Pointer() != reflect.ValueOf(clean).Pointer() {
		t.Error("a value without secrets was copied")
	}
}

// SecretsText on a megabyte of error text with '&' and '=' on every line (the worst case
// for its quick test), beside a copy of the same bytes as the floor.
func BenchmarkSecretsText(b *testing.B) {
	text := strings.Repeat("x&<y=1 at https://h.test/p?q=1\n", 1<<15)
	b.Run("floor-copy", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			_ = strings.Clone(text)
		}
	})
	b.Run("secrets", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			_ = SecretsText(text)
		}
	})
}

// SecretsText never fails on any text, and what it returns has nothing left to hide.
func FuzzSecretsText(f *testing.F) {
	for _, s := range []string{"https://u:p@h/x?token=1&a=b", "Authorization: Bearer abcdefgh1", "cookie=", "://@:", "Basic \t", "a://b?c=d;token=e#f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := SecretsText(s)
		if twice := SecretsText(once); twice != once {
			t.Errorf("SecretsText(%q) = %q, and again %q", s, once, twice)
		}
	})
}
