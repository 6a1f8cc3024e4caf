package report

import (
	"fmt"
	"net/http"

	"github.com/pi-cli/pi/internal/dag"
	"github.com/pi-cli/pi/internal/run"
)

// Geometry of the DAG drawing: one column per layer, left to right.
const (
	nodeW, nodeH = 188, 46
	colGap       = 64
	rowGap       = 14
	pad          = 12
	maxLabel     = 24 // characters of a step id drawn in its box
	laneH        = 24 // the lane below the boxes for edges that skip layers
)

// graph is the DAG as the SVG draws it.
type graph struct {
	Width, Height int
	Nodes         []node
	Edges         []edge
}

type node struct {
	X, Y                 int
	Anchor, Label, Title string
	Action, Class        string
}

type edge struct{ Path string }

// layout places the steps by the layers of their graph (internal/dag: the one graph code
// of pi), each layer a column, and draws an edge from every dependency to its step.
func layout(r *run.Run, anchors map[string]string, steps map[string]*run.Step) graph {
	layers := dag.New(len(r.Steps), func(i int) string { return r.Steps[i].ID },
		func(i int) []string { return r.Steps[i].DependsOn }).Layers()
	pos := make(map[string][2]int, len(r.Steps))
	var g graph
	rows := 0
	for _, l := range layers {
		rows = max(rows, len(l))
	}
	g.Width = pad*2 + len(layers)*nodeW + max(len(layers)-1, 0)*colGap
	g.Height = pad*2 + rows*nodeH + max(rows-1, 0)*rowGap
	for c, l := range layers {
		// Centre each column vertically.
		top := pad + (rows-len(l))*(nodeH+rowGap)/2
		for k, i := range l {
			id := r.Steps[i].ID
			x, y := pad+c*(nodeW+colGap), top+k*(nodeH+rowGap)
			pos[id] = [2]int{x, y}
			s := steps[id]
			word := stepStatus(r, s)
			g.Nodes = append(g.Nodes, node{X: x, Y: y, Anchor: anchors[id], Label: clip(id, maxLabel),
				Title: id + " (" + s.Action + "): " + word, Action: clip(s.Action, 28) + " · " + word, Class: statusClass(word)})
		}
	}
	// An edge that skips a layer would cross the boxes between: it runs in a lane below
	// all of them instead.
	lane := g.Height + laneH/2 - pad/2
	laneUsed := false
	for i := range r.Steps {
		s := &r.Steps[i]
		to, ok := pos[s.ID]
		if !ok {
			continue
		}
		for _, d := range s.DependsOn {
			from, ok := pos[d]
			if !ok {
				continue
			}
			x1, y1 := from[0]+nodeW, from[1]+nodeH/2
			x2, y2 := to[0], to[1]+nodeH/2
			if x2 <= x1 { // a cycle or a same-layer edge: around below
				g.Edges = append(g.Edges, edge{fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1-nodeW/2, y1+nodeH/2,
					x1-nodeW/2, y1+nodeH, x2+nodeW/2, y2+nodeH, x2+nodeW/2, y2+nodeH/2)})
				continue
			}
			if x2-x1 > colGap {
				laneUsed = true
				q := colGap / 2
				g.Edges = append(g.Edges, edge{fmt.Sprintf("M%d %d C%d %d %d %d %d %d L%d %d C%d %d %d %d %d %d",
					x1, y1, x1+q, y1, x1+q/2, lane, x1+q, lane, x2-q, lane, x2-q/2, lane, x2-q, y2, x2-6, y2)})
				continue
			}
			mid := (x1 + x2) / 2
			g.Edges = append(g.Edges, edge{fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, mid, y1, mid, y2, x2-6, y2)})
		}
	}
	if laneUsed {
		g.Height += laneH
	}
	return g
}

func httpSniff(b []byte) string { return http.DetectContentType(b) }
