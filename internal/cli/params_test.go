package cli

import (
	"reflect"
	"testing"
)

func TestParseParamFlags(t *testing.T) {
	tests := []struct {
		in      []string
		want    map[string]string
		wantErr bool
	}{
		{in: nil, want: nil},
		{in: []string{"url=https://x.dev/?a=b"}, want: map[string]string{"url": "https://x.dev/?a=b"}},
		{in: []string{"a=1", "a=2", "b="}, want: map[string]string{"a": "2", "b": ""}},
		{in: []string{"novalue"}, wantErr: true},
		{in: []string{"=x"}, wantErr: true},
		{in: []string{"1a=x"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseParamFlags(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("%v: err = %v", tt.in, err)
			continue
		}
		if tt.wantErr {
			if exitCode(err) != ExitUsage {
				t.Errorf("%v: exit code %d, want %d", tt.in, exitCode(err), ExitUsage)
			}
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v: got %v, want %v", tt.in, got, tt.want)
		}
	}
}
