package store

import "testing"

func TestStatStartTime(t *testing.T) {
	for _, tt := range []struct {
		stat, want string
		ok         bool
	}{
		{"4242 (pi) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 987654 1000 10", "987654", true},
		// the command name may hold spaces and parentheses: fields count after its last ')'
		{"7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 31337 0 0", "31337", true},
		{"7 (short) R 1 2 3", "", false},
		{"no parenthesis", "", false},
		{"7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 notanumber 0 0", "", false},
	} {
		got, ok := statStartTime([]byte(tt.stat))
		if got != tt.want || ok != tt.ok {
			t.Errorf("statStartTime(%q) = %q, %v; want %q, %v", tt.stat, got, ok, tt.want, tt.ok)
		}
	}
}
