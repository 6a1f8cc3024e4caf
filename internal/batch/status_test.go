package batch

import (
	"reflect"
	"testing"

	"github.com/pi-cli/pi/internal/store"
)

func TestWorst(t *testing.T) {
	tests := []struct {
		codes []int
		want  int
	}{
		{nil, 0},
		{[]int{0, 0}, 0},
		{[]int{0, 1, 0}, 1},
		{[]int{1, 3}, 3},
		{[]int{3, 5, 1}, 5},
		{[]int{5, 4, 1}, 4},
		{[]int{4, 2, 0}, 2},
		{[]int{2, 130, 4}, 130},
		{[]int{0, 7}, 130}, // a code of no row status is the worst
	}
	for _, tt := range tests {
		if got := Worst(tt.codes); got != tt.want {
			t.Errorf("Worst(%v) = %d, want %d", tt.codes, got, tt.want)
		}
	}
}

func TestToResume(t *testing.T) {
	var rows []store.BatchRow
	for _, st := range []Status{Completed, Failed, Pending, Running, Invalid, Cancelled, Errored, TimedOut, Interrupted, Completed} {
		rows = append(rows, store.BatchRow{Status: string(st)})
	}
	if got, want := ToResume(rows, false), []int{1, 2, 3, 4, 5, 6, 7, 8}; !reflect.DeepEqual(got, want) {
		t.Errorf("resume: rows %v, want %v", got, want)
	}
	if got, want := ToResume(rows, true), []int{1, 4, 5, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("resume --failed: rows %v, want %v", got, want)
	}
}
