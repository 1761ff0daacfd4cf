//! The current discrete program, line by line. Each code line can be switched off (the
//! program is evaluated again without it) and hovering a line highlights the parts it reads.

use roap_engine::graphics::GraphicsProgram;

use super::Action;

/// `(component, code line)` of the line under the pointer, if any.
pub type HoveredLine = Option<(usize, usize)>;

pub fn program_ui(
    ui: &mut egui::Ui,
    program: Option<&GraphicsProgram>,
    text: &str,
    lines_off: &mut Vec<(usize, usize)>,
    hovered: &mut HoveredLine,
    actions: &mut Vec<Action>,
) {
    let Some(program) = program else {
        ui.label("The discrete program appears at the first report of a synthesis.");
        return;
    };
    *hovered = None;
    ui.horizontal(|ui| {
        let operators = program.operator_counts();
        let count = |name: &str| operators.get(name).copied().unwrap_or(0);
        ui.label(format!(
            "{} live lines (union {} · intersection {} · difference {}) · {} parts",
            program.live_lines(),
            count("union"),
            count("intersection"),
            count("difference"),
            program.live_parts()
        ))
        .on_hover_text("Live lines by operator");
        if !lines_off.is_empty() && ui.button("All lines on").clicked() {
            lines_off.clear();
            actions.push(Action::LinesChanged);
        }
        if ui
            .button("Copy")
            .on_hover_text("Copy the program's text")
            .clicked()
        {
            ui.ctx().copy_text(text.to_owned());
        }
    });
    egui::ScrollArea::vertical()
        .id_salt("program_lines")
        .show(ui, |ui| {
            for (c, component) in program.components.iter().enumerate() {
                let state = if component.enabled { "" } else { " (off)" };
                ui.strong(format!("component {c}: {}{state}", component.kind.name()));
                let inputs = component.program.inputs();
                // Numbers are the sketch's (as in the α heatmaps); dead lines and unread
                // parts are left out.
                let live = component.program.live();
                let is_live = |id: usize| live.get(id).copied().unwrap_or(false);
                for (i, part) in component.parts.iter().enumerate() {
                    if is_live(i) {
                        ui.monospace(format!("  p{i} = {}", part.describe()));
                    }
                }
                let name = |id: usize| {
                    if id < inputs {
                        format!("p{id}")
                    } else {
                        format!("l{}", id - inputs)
                    }
                };
                for (code, line) in component.program.lines().iter().enumerate() {
                    let Some(op) = component.program.ops().ops.get(line.op) else {
                        continue;
                    };
                    if !is_live(inputs + code) {
                        continue;
                    }
                    let text = if op.semantics.arity() == 1 {
                        format!("l{code} = {}({})", op.name, name(line.left))
                    } else {
                        format!(
                            "l{code} = {}({}, {})",
                            op.name,
                            name(line.left),
                            name(line.right)
                        )
                    };
                    let mut on = !lines_off.contains(&(c, code));
                    let response = ui
                        .checkbox(&mut on, egui::RichText::new(text).monospace())
                        .on_hover_text("Switch the line off: it passes its left argument through");
                    if response.changed() {
                        if on {
                            lines_off.retain(|l| *l != (c, code));
                        } else {
                            lines_off.push((c, code));
                        }
                        actions.push(Action::LinesChanged);
                    }
                    if response.hovered() {
                        *hovered = Some((c, code));
                    }
                }
            }
            egui::CollapsingHeader::new("Full text").show(ui, |ui| {
                ui.add(egui::Label::new(egui::RichText::new(text).monospace()).wrap());
            });
        });
}
