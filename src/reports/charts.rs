//! The report's charts, drawn on the server as SVG with `plotters` (text stays `<text>`, escaped by the
//! backend). Grey-scale throughout, so they read the same on a black-and-white printer; every chart has
//! a title, axis labels with units, and its numbers in a table beside it on the page.
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

const W: u32 = 640;
const H: u32 = 340;
/// Four greys a printer keeps apart, darkest first.
const GREYS: [RGBColor; 4] = [
    RGBColor(35, 35, 35),
    RGBColor(105, 105, 105),
    RGBColor(170, 170, 170),
    RGBColor(230, 230, 230),
];
const FONT: &str = "sans-serif";
/// Tick, axis and legend text, in the chart's own units (plotters writes about 0.8 of it as the SVG font
/// size). A chart is drawn 640 units wide and shown about 515 px wide on a laptop, so 19 reads as 12 px there;
/// on a phone the chart keeps at least 30rem and scrolls inside its box (style.css) rather than shrink the
/// text below 11 px.
const LABEL: u32 = 19;
/// Chart titles.
const CAPTION: u32 = 22;

/// An estimate with its interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Estimate.
    pub estimate: f64,
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// A drawn chart: SVG markup that templates insert as it is. Only this module makes one, and every piece
/// of text in it (titles, labels, cohort and study names) is escaped — by the plotters SVG backend for the
/// drawing, by `escape` for the accessible title — so no template needs `|safe` for it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Svg(String);

impl Svg {
    /// Nothing drawn (not enough data).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Svg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for Svg {}

fn finish(svg: String, result: Drawn, title: &str) -> Svg {
    match result {
        // The SVG carries its title for screen readers.
        Ok(()) => Svg(svg.replacen(
            "<svg ",
            &format!("<svg role=\"img\" aria-label=\"{}\" ", escape(title)),
            1,
        )),
        Err(e) => {
            tracing::warn!(error = %e, "chart not drawn");
            Svg::default()
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn nice_max(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let step = 10f64.powf(x.log10().floor());
    (x / step).ceil() * step
}

fn label_of(names: &[String]) -> impl Fn(&SegmentValue<usize>) -> String + '_ {
    move |v| match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
            names.get(*i).cloned().unwrap_or_default()
        }
        SegmentValue::Last => String::new(),
    }
}

/// Bars with interval whiskers, one per group (`percent`: values are shares, shown 0–100%).
pub fn bars_with_intervals(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    names: &[String],
    points: &[Point],
    percent: bool,
) -> Svg {
    if names.is_empty() {
        return Svg::default();
    }
    let mut svg = String::new();
    let result: Drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let top = if percent {
            1.0
        } else {
            nice_max(points.iter().map(|p| p.high).fold(0.0, f64::max))
        };
        let bottom = points.iter().map(|p| p.low).fold(0.0, f64::min).min(0.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, CAPTION))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(78)
            .build_cartesian_2d((0..names.len() - 1).into_segmented(), bottom..top)?;
        let fmt_y = |y: &f64| {
            if percent {
                format!("{:.0}%", y * 100.0)
            } else {
                format!("{y:.1}")
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&label_of(names))
            .y_label_formatter(&fmt_y)
            .label_style((FONT, LABEL))
            .draw()?;
        chart.draw_series(points.iter().enumerate().map(|(i, p)| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), p.estimate),
                ],
                GREYS[2].filled(),
            );
            bar.set_margin(0, 0, 18, 18);
            bar
        }))?;
        chart.draw_series(points.iter().enumerate().map(|(i, p)| {
            ErrorBar::new_vertical(
                SegmentValue::CenterOf(i),
                p.low,
                p.estimate,
                p.high,
                GREYS[0].stroke_width(2),
                14,
            )
        }))?;
        root.present()?;
        Ok(())
    })();
    finish(svg, result, title)
}

/// Stacked bars: each group's four parts (e.g. the four kinds of oversight), with a legend.
pub fn stacked_bars(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    names: &[String],
    parts: &[[f64; 4]],
    legend: [&str; 4],
) -> Svg {
    if names.is_empty() {
        return Svg::default();
    }
    let mut svg = String::new();
    let result: Drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        // Head-room above the tallest bar for the legend.
        let top = nice_max(
            1.45 * parts
                .iter()
                .map(|p| p.iter().sum::<f64>())
                .fold(0.0, f64::max),
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, CAPTION))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(78)
            .build_cartesian_2d((0..names.len() - 1).into_segmented(), 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&label_of(names))
            .y_label_formatter(&|y: &f64| format!("{y:.0}"))
            .label_style((FONT, LABEL))
            .draw()?;
        for (k, label) in legend.iter().enumerate() {
            let colour = GREYS[k];
            chart
                .draw_series(parts.iter().enumerate().map(move |(i, p)| {
                    let below: f64 = p[..k].iter().sum();
                    let mut bar = Rectangle::new(
                        [
                            (SegmentValue::Exact(i), below),
                            (SegmentValue::Exact(i + 1), below + p[k]),
                        ],
                        colour.filled(),
                    );
                    bar.set_margin(0, 0, 18, 18);
                    bar
                }))?
                .label(*label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font((FONT, LABEL))
            .draw()?;
        root.present()?;
        Ok(())
    })();
    finish(svg, result, title)
}

/// Two bars per group: the vendor's gross hours (light) beside the measured net hours (dark, with its
/// interval).
pub fn gross_beside_net(title: &str, names: &[String], gross: &[f64], net: &[Point]) -> Svg {
    if names.is_empty() {
        return Svg::default();
    }
    let mut svg = String::new();
    let result: Drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let top = nice_max(
            1.3 * gross
                .iter()
                .copied()
                .chain(net.iter().map(|p| p.high))
                .fold(0.0, f64::max),
        );
        let bottom = net.iter().map(|p| p.low).fold(0.0, f64::min).min(0.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, CAPTION))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(78)
            .build_cartesian_2d(-0.5f64..(names.len() as f64 - 0.5), bottom..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(names.len())
            .x_desc("Cohort")
            .y_desc("Hours per user per month")
            .x_label_formatter(&|x: &f64| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y: &f64| format!("{y:.0}"))
            .label_style((FONT, LABEL))
            .draw()?;
        let w = 0.3;
        chart
            .draw_series(gross.iter().enumerate().map(|(i, g)| {
                let x = i as f64;
                Rectangle::new([(x - w, 0.0), (x, *g)], GREYS[3].filled())
            }))?
            .label("Vendor's gross AI hours")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], GREYS[3].filled()));
        chart.draw_series(gross.iter().enumerate().map(|(i, g)| {
            let x = i as f64;
            Rectangle::new([(x - w, 0.0), (x, *g)], BLACK.stroke_width(1))
        }))?;
        chart
            .draw_series(net.iter().enumerate().map(|(i, p)| {
                let x = i as f64;
                Rectangle::new([(x, 0.0), (x + w, p.estimate)], GREYS[0].filled())
            }))?
            .label("Measured net time saved (95% CI)")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], GREYS[0].filled()));
        chart.draw_series(net.iter().enumerate().map(|(i, p)| {
            ErrorBar::new_vertical(
                i as f64 + w / 2.0,
                p.low,
                p.estimate,
                p.high,
                GREYS[1].stroke_width(2),
                10,
            )
        }))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font((FONT, LABEL))
            .draw()?;
        root.present()?;
        Ok(())
    })();
    finish(svg, result, title)
}

/// A line over days (values as shares, shown 0–100%); a missing day leaves a gap in the markers.
pub fn daily_share(title: &str, y_desc: &str, days: &[String], values: &[Option<f64>]) -> Svg {
    if days.is_empty() {
        return Svg::default();
    }
    let mut svg = String::new();
    let result: Drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = days.len();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, CAPTION))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(78)
            .build_cartesian_2d(0..(n - 1).max(1), 0.0..1.0)?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(238, 238, 238))
            .x_labels(8.min(n))
            .x_desc("Day of collection (study time zone)")
            .y_desc(y_desc)
            .x_label_formatter(&|i: &usize| {
                days.get(*i)
                    .map(|d| d.get(5..).unwrap_or(d).to_string())
                    .unwrap_or_default()
            })
            .y_label_formatter(&|y: &f64| format!("{:.0}%", y * 100.0))
            .label_style((FONT, LABEL))
            .draw()?;
        let shown: Vec<(usize, f64)> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect();
        chart.draw_series(LineSeries::new(
            shown.iter().copied(),
            GREYS[0].stroke_width(2),
        ))?;
        chart.draw_series(
            shown
                .iter()
                .map(|&(i, v)| Circle::new((i, v), 3, GREYS[0].filled())),
        )?;
        root.present()?;
        Ok(())
    })();
    finish(svg, result, title)
}

/// A trend across waves: each wave's estimate joined by a line, with its interval as a whisker; a wave
/// without a shown estimate leaves a gap.
pub fn trend(
    title: &str,
    y_desc: &str,
    waves: &[String],
    points: &[Option<Point>],
    percent: bool,
) -> Svg {
    if waves.is_empty() || points.iter().all(Option::is_none) {
        return Svg::default();
    }
    let mut svg = String::new();
    let result: Drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let shown: Vec<(usize, Point)> = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .collect();
        let top = if percent {
            1.0
        } else {
            nice_max(shown.iter().map(|(_, p)| p.high).fold(0.0, f64::max))
        };
        let bottom = shown
            .iter()
            .map(|(_, p)| p.low)
            .fold(0.0, f64::min)
            .min(0.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, CAPTION))
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(78)
            .build_cartesian_2d((0..waves.len() - 1).into_segmented(), bottom..top)?;
        let fmt_y = |y: &f64| {
            if percent {
                format!("{:.0}%", y * 100.0)
            } else {
                format!("{y:.2}")
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(238, 238, 238))
            .x_desc("Study wave")
            .y_desc(y_desc)
            .x_label_formatter(&label_of(waves))
            .y_label_formatter(&fmt_y)
            .label_style((FONT, LABEL))
            .draw()?;
        chart.draw_series(LineSeries::new(
            shown
                .iter()
                .map(|(i, p)| (SegmentValue::CenterOf(*i), p.estimate)),
            GREYS[1].stroke_width(2),
        ))?;
        chart.draw_series(shown.iter().map(|(i, p)| {
            ErrorBar::new_vertical(
                SegmentValue::CenterOf(*i),
                p.low,
                p.estimate,
                p.high,
                GREYS[0].stroke_width(2),
                14,
            )
        }))?;
        root.present()?;
        Ok(())
    })();
    finish(svg, result, title)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn charts_are_svg_with_titles_axis_labels_and_escaped_text() {
        let p = |e: f64| Point {
            estimate: e,
            low: e - 0.1,
            high: e + 0.1,
        };
        let svg = bars_with_intervals(
            "Yield <per> cohort",
            "Cohort",
            "Tasks used (%)",
            &names(&["heavy", "<script>"]),
            &[p(0.6), p(0.5)],
            true,
        )
        .to_string();
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"Yield &lt;per&gt; cohort\""));
        assert!(svg.contains("Tasks used (%)") && svg.contains("Cohort"));
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
        assert!(svg.contains("60%") || svg.contains("50%"), "percent ticks");
        let stacked = stacked_bars(
            "Oversight",
            "Cohort",
            "Minutes per hour",
            &names(&["heavy"]),
            &[[5.0, 3.0, 1.0, 0.5]],
            ["Verification", "Correction", "Context", "Trust"],
        )
        .to_string();
        assert!(stacked.contains("Verification") && stacked.contains("Trust"));
        let g = gross_beside_net(
            "Vendor vs net",
            &names(&["heavy", "light"]),
            &[10.0, 2.0],
            &[p(3.5), p(0.4)],
        )
        .to_string();
        assert!(
            g.contains("Vendor&apos;s gross AI hours") || g.contains("Vendor's gross AI hours"),
            "{g}"
        );
        let d = daily_share(
            "Compliance",
            "Answered in time",
            &names(&["2026-10-01", "2026-10-02", "2026-10-03"]),
            &[Some(0.7), None, Some(0.6)],
        )
        .to_string();
        assert!(d.contains("<polyline") || d.contains("<path"), "a line");
        assert!(
            bars_with_intervals("t", "x", "y", &[], &[], true).is_empty(),
            "nothing to draw"
        );
        let t = trend(
            "Multiplier across waves",
            "Labor multiplier",
            &names(&["wave 0", "wave 1"]),
            &[Some(p(0.35)), Some(p(0.42))],
            false,
        )
        .to_string();
        assert!(t.contains("wave 0") && t.contains("Study wave"));
        assert!(trend("t", "y", &names(&["a"]), &[None], false).is_empty());
        // A study name an admin typed reaches a chart escaped, and the chart goes into a page unescaped.
        let named = trend(
            "Yield",
            "Yield",
            &names(&["<img src=x onerror=alert(1)>", "wave 1"]),
            &[Some(p(0.5)), Some(p(0.6))],
            true,
        );
        assert!(named.as_str().contains("&lt;img src=x") && !named.as_str().contains("<img"));
        #[derive(askama::Template)]
        #[template(source = "<div>{{ chart }}</div>", ext = "html")]
        struct Page {
            chart: Svg,
        }
        let html = askama::Template::render(&Page { chart: named }).unwrap();
        assert!(
            html.starts_with("<div><svg role=\"img\""),
            "inserted as markup"
        );
        // Grey-scale only: every fill and stroke colour has equal red, green and blue.
        for chart in [&svg, &stacked, &g, &d, &t] {
            for colour in chart.match_indices("#").map(|(i, _)| &chart[i + 1..i + 7]) {
                if colour.chars().all(|c| c.is_ascii_hexdigit()) {
                    assert!(
                        colour[0..2] == colour[2..4] && colour[2..4] == colour[4..6],
                        "not grey: #{colour}"
                    );
                }
            }
        }
    }
}
