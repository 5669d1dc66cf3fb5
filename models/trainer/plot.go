package trainer

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// PlotLog draws the training loss and the validation metric per epoch, one
// above the other, and returns the PNG.
func PlotLog(entries []EpochLog, metric string) ([]byte, error) {
	loss := make(plotter.XYs, 0, len(entries))
	valid := make(plotter.XYs, 0, len(entries))
	for _, e := range entries {
		loss = append(loss, plotter.XY{X: float64(e.Epoch), Y: e.Loss})
		if v, ok := e.Valid[metric]; ok {
			valid = append(valid, plotter.XY{X: float64(e.Epoch), Y: v})
		}
	}
	top, err := linePlot("training loss", "loss", loss)
	if err != nil {
		return nil, err
	}
	bottom, err := linePlot("validation "+metric, metric, valid)
	if err != nil {
		return nil, err
	}
	img := vgimg.New(8*vg.Inch, 7*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 3 * vg.Millimeter, PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("png: %w", err)
	}
	return buf.Bytes(), nil
}

func linePlot(title, ylabel string, xys plotter.XYs) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	if len(xys) > 0 {
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		points.Radius = vg.Points(2)
		p.Add(line, points)
	}
	return p, nil
}
