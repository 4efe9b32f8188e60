//! The energy benchmark's SVG timeline: a run's power states as coloured
//! bands over the whole day and over its first hour, with a tick per
//! message sent (a publish, or an HTTP request).

use std::fmt::Write as _;
use std::time::Duration;

use lexi_sim::{PowerLogEntry, PowerMode};

fn color(state: PowerMode) -> &'static str {
    match state {
        PowerMode::Off => "#444444",
        PowerMode::Booting => "#9467bd",
        PowerMode::Active => "#d62728",
        PowerMode::Idle => "#ff7f0e",
        PowerMode::Sleep1 => "#bcbd22",
        PowerMode::Sleep2 => "#17becf",
        PowerMode::Hibernate => "#2ca02c",
    }
}

const SVG_W: f64 = 1200.0;
const MARGIN: f64 = 60.0;
const BAND_H: f64 = 40.0;

/// The power log as a timeline: a strip over `[0, end]` and a zoom on the
/// first hour, one band per state entry (class `band` in the full strip,
/// `zoom` in the zoom), a tick per publish under each strip, a legend.
pub(super) fn timeline_svg(
    title: &str,
    log: &[PowerLogEntry],
    published: &[Duration],
    end: Duration,
) -> String {
    let zoom_end = end.min(Duration::from_secs(3600));
    let height = 2.0 * (BAND_H + 70.0) + 80.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="sans-serif" font-size="12">"#,
        SVG_W + 2.0 * MARGIN
    );
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN}" y="20" font-size="16">{}</text>"#,
        xml_escape(title)
    );
    strip(
        &mut s,
        "band",
        "full run (hours)",
        log,
        published,
        end,
        3600.0,
        40.0,
    );
    strip(
        &mut s,
        "zoom",
        "first hour (minutes)",
        log,
        published,
        zoom_end,
        60.0,
        40.0 + BAND_H + 70.0,
    );
    let legend_y = 40.0 + 2.0 * (BAND_H + 70.0);
    for (i, state) in PowerMode::ALL.iter().enumerate() {
        let x = MARGIN + i as f64 * 120.0;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{legend_y}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{state:?}</text>"#,
            color(*state),
            x + 16.0,
            legend_y + 11.0
        );
    }
    let x = MARGIN + 7.0 * 120.0;
    let _ = writeln!(
        s,
        r#"<line x1="{x}" y1="{legend_y}" x2="{x}" y2="{}" stroke="black"/><text x="{}" y="{}">message sent</text>"#,
        legend_y + 12.0,
        x + 6.0,
        legend_y + 11.0
    );
    s.push_str("</svg>\n");
    s
}

#[allow(clippy::too_many_arguments)]
fn strip(
    s: &mut String,
    class: &str,
    label: &str,
    log: &[PowerLogEntry],
    published: &[Duration],
    end: Duration,
    tick_unit_s: f64,
    y: f64,
) {
    let span = end.as_secs_f64().max(1e-9);
    let x_of = |t: Duration| MARGIN + t.min(end).as_secs_f64() / span * SVG_W;
    let _ = writeln!(s, r#"<text x="{MARGIN}" y="{}">{label}</text>"#, y - 4.0);
    for (i, e) in log.iter().enumerate() {
        if e.at > end {
            break;
        }
        let stop = log.get(i + 1).map_or(end, |n| n.at.min(end));
        let (x0, x1) = (x_of(e.at), x_of(stop));
        let _ = writeln!(
            s,
            r#"<rect class="{class}" x="{x0:.2}" y="{y}" width="{:.3}" height="{BAND_H}" fill="{}"><title>{:?} at {:.1} s</title></rect>"#,
            (x1 - x0).max(0.0),
            color(e.state),
            e.state,
            e.at.as_secs_f64()
        );
    }
    let tick_y = y + BAND_H + 2.0;
    for p in published.iter().filter(|p| **p <= end) {
        let x = x_of(*p);
        let _ = writeln!(
            s,
            r#"<line x1="{x:.2}" y1="{tick_y}" x2="{x:.2}" y2="{}" stroke="black" stroke-width="0.5"/>"#,
            tick_y + 10.0
        );
    }
    // Axis labels: at most ~24 of them.
    let units = (span / tick_unit_s).floor() as u64;
    let step = (units / 24).max(1) * if tick_unit_s == 60.0 { 5 } else { 1 };
    let mut u = 0;
    while u <= units {
        let x = MARGIN + (u as f64 * tick_unit_s) / span * SVG_W;
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{}" text-anchor="middle">{u}</text>"#,
            tick_y + 26.0
        );
        u += step;
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: u64, state: PowerMode) -> PowerLogEntry {
        PowerLogEntry {
            at: Duration::from_secs(at),
            state,
        }
    }

    #[test]
    fn the_svg_has_one_band_per_log_entry_and_a_tick_per_publish() {
        let log = vec![
            entry(0, PowerMode::Booting),
            entry(6, PowerMode::Idle),
            entry(20, PowerMode::Active),
            entry(30, PowerMode::Idle),
            entry(40, PowerMode::Hibernate),
            entry(4000, PowerMode::Idle),
        ];
        let published = vec![Duration::from_secs(25), Duration::from_secs(4001)];
        let svg = timeline_svg("t <1>", &log, &published, Duration::from_secs(7200));
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches(r#"class="band""#).count(), log.len(), "{svg}");
        // The zoom covers the first hour: the entry at 4000 s is outside it.
        assert_eq!(
            svg.matches(r#"class="zoom""#).count(),
            log.len() - 1,
            "{svg}"
        );
        // Full strip: both publishes; zoom: only the first; legend: one.
        assert_eq!(svg.matches(r#"stroke-width="0.5""#).count(), 3, "{svg}");
        assert!(svg.contains("t &lt;1&gt;"));
        for state in PowerMode::ALL {
            assert!(svg.contains(&format!(">{state:?}</text>")), "{state:?}");
        }
        // Every element opened is closed.
        assert_eq!(
            svg.matches("<rect").count(),
            svg.matches("</rect>").count() + 7
        );
    }

    #[test]
    fn a_band_spans_from_its_entry_to_the_next() {
        let log = vec![entry(0, PowerMode::Idle), entry(1800, PowerMode::Hibernate)];
        let svg = timeline_svg("x", &log, &[], Duration::from_secs(3600));
        // Half the run each: 600 px of the 1200 px strip.
        assert_eq!(svg.matches(r#"width="600.000""#).count(), 4, "{svg}");
    }
}
