//! roap studio: the desktop synthesizer.
//!
//! Today this window reads, simplifies and measures programs with the engine; synthesis,
//! the viewport and the heatmaps arrive with the app issue (see ARCHITECTURE.md).

use roap_engine::dsl::Program;

const DEFAULT_PROGRAM: &str = include_str!("../../samples/programs/csg_hidden.txt");

struct StudioApp {
    source: String,
}

impl StudioApp {
    fn analysis(&self) -> Result<(Program, Program), String> {
        let program: Program = self.source.parse().map_err(|err| format!("{err:#}"))?;
        let simplified = program.simplify();
        Ok((program, simplified))
    }
}

impl eframe::App for StudioApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| self.editor_ui(ui));
    }
}

impl StudioApp {
    fn editor_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("roap studio");
        ui.label("Edit a straight-line program; the engine parses, measures and simplifies it.");
        ui.separator();
        ui.columns(2, |columns| {
            columns[0].label("Program");
            columns[0].add(
                egui::TextEdit::multiline(&mut self.source)
                    .code_editor()
                    .desired_rows(16)
                    .desired_width(f32::INFINITY),
            );
            match self.analysis() {
                Ok((program, simplified)) => {
                    columns[1].label(format!(
                        "{} code lines, length {} (live, non-skip)",
                        program.lines().len(),
                        program.length()
                    ));
                    columns[1].label("Simplified");
                    columns[1].add(
                        egui::Label::new(egui::RichText::new(simplified.to_string()).monospace())
                            .extend(),
                    );
                }
                Err(err) => {
                    columns[1].colored_label(columns[1].visuals().error_fg_color, err);
                }
            }
        });
    }
}

fn main() -> eframe::Result {
    tracing_subscriber::fmt::init();
    let options = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        depth_buffer: 24,
        ..Default::default()
    };
    eframe::run_native(
        "roap studio",
        options,
        Box::new(|_cc| {
            Ok(Box::new(StudioApp {
                source: DEFAULT_PROGRAM.to_owned(),
            }))
        }),
    )
}
