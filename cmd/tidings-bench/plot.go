package main

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// writePlots draws latency percentiles and throughput over time to
// PREFIX-latency.png and PREFIX-throughput.png.
func writePlots(prefix string, r *results) error {
	title := fmt.Sprintf("%d users × %d devices, %s via %s", r.Config.Users, r.Config.Devices, rateText(r.Config.Rate), r.Config.Via)
	lat := []series{
		{"accept p50", func(p point) float64 { return p.AcceptP50ms }},
		{"accept p99", func(p point) float64 { return p.AcceptP99ms }},
		{"end-to-end p50", func(p point) float64 { return p.E2EP50ms }},
		{"end-to-end p99", func(p point) float64 { return p.E2EP99ms }},
	}
	if err := linePlot(prefix+"-latency.png", "latency, "+title, "ms", r.Series, lat); err != nil {
		return err
	}
	thr := []series{
		{"accepted msg/s", func(p point) float64 { return float64(p.AcceptedPS) }},
		{"message frames/s", func(p point) float64 { return float64(p.ReceivedPS) }},
	}
	return linePlot(prefix+"-throughput.png", "throughput, "+title, "per second", r.Series, thr)
}

type series struct {
	name string
	y    func(point) float64
}

var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255},
	color.RGBA{44, 160, 44, 255}, color.RGBA{214, 39, 40, 255},
}

func linePlot(path, title, yLabel string, pts []point, ss []series) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds"
	p.Y.Label.Text = yLabel
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	for i, s := range ss {
		xy := make(plotter.XYs, len(pts))
		for j, pt := range pts {
			xy[j].X, xy[j].Y = pt.T, s.y(pt)
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return fmt.Errorf("plot %s: %w", s.name, err)
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	return p.Save(7*vg.Inch, 3.5*vg.Inch, path)
}
