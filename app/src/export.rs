//! Writing results: the program (text, JSON, OpenSCAD), its surface (OBJ / STL / PLY), its parts
//! (one coloured PLY or OBJ), and screenshots (PNG). Every file is written atomically, so a
//! failure (a full disk, a read-only folder) leaves what was there before.

use std::path::Path;

use roap_engine::data::{TriangleMesh, VoxelGrid};
use roap_engine::export::{ColoredPart, MeshFormat, write_atomically, write_mesh, write_parts};
use roap_engine::graphics::GraphicsProgram;
use roap_engine::graphics::openscad::{DEFAULT_PART_RESOLUTION, to_openscad};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    ProgramText,
    ProgramJson,
    OpenScad,
    Mesh,
    Parts,
    Screenshot,
}

impl ExportKind {
    pub const ALL: [Self; 6] = [
        Self::ProgramText,
        Self::ProgramJson,
        Self::OpenScad,
        Self::Mesh,
        Self::Parts,
        Self::Screenshot,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::ProgramText => "Program as text…",
            Self::ProgramJson => "Program as JSON…",
            Self::OpenScad => "OpenSCAD (CSG tree)…",
            Self::Mesh => "Mesh (OBJ / STL / PLY)…",
            Self::Parts => "Parts (coloured PLY / OBJ)…",
            Self::Screenshot => "Screenshot (PNG)…",
        }
    }

    pub fn default_file_name(self, shape: &str) -> String {
        match self {
            Self::ProgramText => format!("{shape}_program.txt"),
            Self::ProgramJson => format!("{shape}_program.json"),
            Self::OpenScad => format!("{shape}_program.scad"),
            Self::Mesh => format!("{shape}_program.obj"),
            Self::Parts => format!("{shape}_parts.ply"),
            Self::Screenshot => format!("{shape}_roap.png"),
        }
    }

    /// File-dialog filters: a name and the extensions it allows.
    pub fn filters(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Self::ProgramText => &[("Text", &["txt"])],
            Self::ProgramJson => &[("JSON", &["json"])],
            Self::OpenScad => &[("OpenSCAD", &["scad"])],
            Self::Mesh => &[("Meshes", &["obj", "stl", "ply"])],
            Self::Parts => &[("Coloured meshes", &["ply", "obj"])],
            Self::Screenshot => &[("PNG", &["png"])],
        }
    }
}

/// What an export reads, copied off the UI so the write can run in a job.
pub struct ExportData {
    pub program: Option<GraphicsProgram>,
    /// The program's surface and parts as shown (normalized frame).
    pub surface: Option<TriangleMesh>,
    pub parts: Vec<ColoredPart>,
    /// The input's frame: meshes are written in its model space, over the input file.
    pub frame: Option<VoxelGrid>,
    pub screenshot: Option<std::sync::Arc<egui::ColorImage>>,
}

/// Writes `kind` to `path`. Returns a line for the status bar.
pub fn export(kind: ExportKind, path: &Path, data: &ExportData) -> Result<String, String> {
    let bytes = encode(kind, path, data)?;
    write_atomically(path, &bytes).map_err(|err| format!("{err}: {}", path.display()))?;
    tracing::info!("saved {}", path.display());
    Ok(format!("saved {}", path.display()))
}

fn encode(kind: ExportKind, path: &Path, data: &ExportData) -> Result<Vec<u8>, String> {
    let nothing = |what: &str| format!("nothing to export yet: no {what}");
    let in_model_frame = |mesh: &TriangleMesh| {
        let mut mesh = mesh.clone();
        if let Some(frame) = &data.frame {
            frame.to_model_frame(&mut mesh);
        }
        mesh
    };
    let format = || {
        MeshFormat::from_path(path).ok_or_else(|| {
            format!(
                "unknown mesh extension (use .obj, .stl or .ply): {}",
                path.display()
            )
        })
    };
    let mut bytes = Vec::new();
    match kind {
        ExportKind::ProgramText => {
            let program = data.program.as_ref().ok_or_else(|| nothing("program"))?;
            bytes = program.to_string().into_bytes();
        }
        ExportKind::ProgramJson => {
            let program = data.program.as_ref().ok_or_else(|| nothing("program"))?;
            bytes = serde_json::to_vec_pretty(program).map_err(|err| err.to_string())?;
        }
        ExportKind::OpenScad => {
            let program = data.program.as_ref().ok_or_else(|| nothing("program"))?;
            bytes = to_openscad(program, data.frame.as_ref(), DEFAULT_PART_RESOLUTION)
                .map_err(|err| err.to_string())?
                .into_bytes();
        }
        ExportKind::Mesh => {
            let surface = data.surface.as_ref().ok_or_else(|| nothing("3D surface"))?;
            write_mesh(&mut bytes, &in_model_frame(surface), format()?)
                .map_err(|err| err.to_string())?;
        }
        ExportKind::Parts => {
            if data.parts.is_empty() {
                return Err(nothing("3D parts"));
            }
            let parts: Vec<ColoredPart> = data
                .parts
                .iter()
                .filter(|p| !p.mesh.triangles.is_empty())
                .map(|p| ColoredPart {
                    mesh: in_model_frame(&p.mesh),
                    ..p.clone()
                })
                .collect();
            write_parts(&mut bytes, &parts, format()?).map_err(|err| err.to_string())?;
        }
        ExportKind::Screenshot => {
            let image = data
                .screenshot
                .as_ref()
                .ok_or_else(|| nothing("screenshot"))?;
            bytes = png_of(image)?;
        }
    }
    Ok(bytes)
}

pub fn png_of(image: &egui::ColorImage) -> Result<Vec<u8>, String> {
    let [width, height] = image.size;
    let rgba: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
    let buffer = image::RgbaImage::from_raw(width as u32, height as u32, rgba)
        .ok_or_else(|| "screenshot has the wrong number of pixels".to_owned())?;
    let mut bytes = Vec::new();
    buffer
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|err| err.to_string())?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> ExportData {
        ExportData {
            program: None,
            surface: None,
            parts: Vec::new(),
            frame: None,
            screenshot: None,
        }
    }

    #[test]
    fn exporting_nothing_is_an_error_and_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("roap_app_export_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for kind in ExportKind::ALL {
            let path = dir.join(kind.default_file_name("x"));
            assert!(export(kind, &path, &empty()).is_err(), "{kind:?}");
            assert!(!path.exists());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_mesh_goes_out_in_the_inputs_model_frame() {
        let dir = std::env::temp_dir().join(format!("roap_app_mesh_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut frame = VoxelGrid::empty(4);
        frame.translate = [10.0, 0.0, 0.0];
        frame.scale = 2.0;
        let data = ExportData {
            surface: Some(TriangleMesh {
                vertices: vec![[-0.5, -0.5, -0.5], [0.5, -0.5, -0.5], [0.5, 0.5, -0.5]],
                triangles: vec![[0, 1, 2]],
            }),
            frame: Some(frame),
            ..empty()
        };
        let path = dir.join("m.obj");
        export(ExportKind::Mesh, &path, &data).unwrap();
        let read = roap_engine::data::read_mesh(&path).unwrap();
        assert_eq!(read.vertices[1], [12.0, 0.0, 0.0]);
        // An unknown extension: a clear error.
        assert!(export(ExportKind::Mesh, &dir.join("m.xyz"), &data).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
