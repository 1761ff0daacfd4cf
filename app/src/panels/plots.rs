//! Curves of a run: loss, temperature and length weight, expected program length, and the
//! discrete program's Chamfer distance at each report.

use egui_plot::{Legend, Line, Plot, PlotPoints};

use crate::run_view::RunView;

pub fn plots_ui(ui: &mut egui::Ui, run: &RunView) {
    if run.steps.is_empty() {
        ui.label("Curves appear once a synthesis runs.");
        return;
    }
    let link = egui::Id::unique("plots_x");
    let height = ((ui.available_height() - 40.0) / 4.0).max(90.0);
    let series = |f: &dyn Fn(&roap_engine::train::StepReport) -> f64| -> PlotPoints<'static> {
        run.steps.iter().map(|s| [s.step as f64, f(s)]).collect()
    };
    let plot = |id: &str| {
        Plot::new(id)
            .height(height)
            .legend(Legend::default())
            .link_axis(link, [true, false])
            .allow_scroll(false)
    };
    ui.label("Loss");
    plot("plot_loss").show(ui, |plot| {
        plot.line(Line::new("fit (best draw)", series(&|s| s.fit_loss)));
        plot.line(Line::new("total", series(&|s| s.loss)));
    });
    ui.label("Schedule");
    plot("plot_schedule").show(ui, |plot| {
        plot.line(Line::new("temperature", series(&|s| s.temperature)));
        plot.line(Line::new("λ × 10⁴", series(&|s| s.length_weight * 1e4)));
    });
    ui.label("Program length");
    plot("plot_length").show(ui, |plot| {
        plot.line(Line::new("expected length", series(&|s| s.expected_length)));
        let live: PlotPoints<'_> = run
            .metrics
            .iter()
            .map(|m| [m.step as f64, m.live_lines as f64])
            .collect();
        plot.line(Line::new("live lines (discrete)", live));
    });
    ui.label("Chamfer of the discrete program");
    plot("plot_chamfer").show(ui, |plot| {
        let chamfer: PlotPoints<'_> = run
            .metrics
            .iter()
            .filter_map(|m| Some([m.step as f64, m.chamfer?]))
            .collect();
        plot.line(Line::new("Chamfer", chamfer));
    });
}
