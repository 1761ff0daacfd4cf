//! The scene pipeline: the loaded shape, and the meshes the viewport draws, rebuilt on a
//! worker when the program changes.

use std::path::PathBuf;
use std::sync::Arc;

use roap_engine::graphics::meshes::PartKey;
use roap_engine::graphics::{OpenOptions, Target};

use super::StudioApp;
use crate::document::{LoadedShape, load_shape, parts_under, program_geometry};
use crate::jobs::{Job, Message};
use crate::run_view::RunView;
use crate::viewport::SceneMeshes;

impl StudioApp {
    /// Opens a shape file in a job (meshes take seconds to voxelize).
    pub fn open(&mut self, path: PathBuf) {
        let options = OpenOptions {
            resolution: self.settings.synthesis.resolution.clamp(8, 256),
            index: self.hdf5_index,
            key: None,
        };
        self.status = format!("opening {}…", path.display());
        self.loading = Some(path.clone());
        self.jobs.spawn(
            "load",
            move |out| {
                let result = load_shape(&path, &options).map(Box::new);
                out.send(Message::Loaded { path, result });
            },
            |error| Message::Failed {
                job: Job::Load,
                error,
            },
        );
    }

    pub(super) fn set_shape(&mut self, shape: LoadedShape) {
        if let Some(control) = &self.control {
            control.cancel();
        }
        self.input_image = None;
        self.reconstruction_image = None;
        self.run = RunView::default();
        self.lines_off.clear();
        self.completion = None;
        self.gallery.clear();
        self.part_keys.clear();
        self.shape = Some(shape);
        self.scene = Arc::new(self.scene_base());
        self.viewport.camera.reset();
    }

    /// A new scene revision holding the input only.
    pub(super) fn scene_base(&mut self) -> SceneMeshes {
        self.scene_revision += 1;
        let mut scene = SceneMeshes {
            revision: self.scene_revision,
            ..SceneMeshes::default()
        };
        if let Some(shape) = &self.shape {
            scene.input_surface = shape.surface.clone();
            scene.input_voxels = shape.surface_voxels.clone();
            scene.voxel_size = shape.voxel_size;
        }
        scene
    }

    /// A new scene revision with the current program geometry and completion kept.
    pub(super) fn next_scene(&mut self) -> SceneMeshes {
        let mut scene = self.scene_base();
        scene.reconstruction = self.scene.reconstruction.clone();
        scene.parts = self.scene.parts.clone();
        scene.completion = self.scene.completion.clone();
        scene
    }

    pub(super) fn request_geometry(&mut self) {
        if self.geometry_busy {
            self.geometry_dirty = true;
        } else {
            self.start_geometry();
        }
    }

    pub(super) fn start_geometry(&mut self) {
        let (Some(program), Some(shape)) = (self.run.program.clone(), &self.shape) else {
            return;
        };
        let target = match &shape.target {
            // Meshing needs only the dimension of a 3D target, not its voxels.
            Target::Voxels(_) => Target::Voxels(roap_engine::data::VoxelGrid::empty(1)),
            pixels => pixels.clone(),
        };
        // The scene revision the result will belong to; anything older is dropped.
        self.scene = Arc::new(self.next_scene());
        let revision = self.scene_revision;
        let lines_off = self.lines_off.clone();
        self.geometry_busy = true;
        self.jobs.spawn(
            "geometry",
            move |out| {
                let geometry = program_geometry(revision, &program, &lines_off, &target);
                out.send(Message::Geometry(Box::new(geometry)));
            },
            |error| Message::Failed {
                job: Job::Geometry,
                error,
            },
        );
    }

    /// Indices into the scene's parts to emphasise: those under the hovered line, or the
    /// hovered gallery part.
    pub fn highlighted_parts(&self) -> Vec<usize> {
        let keys: Vec<PartKey> = match (self.hovered_line, self.hovered_part, &self.run.program) {
            (Some((c, line)), _, Some(program)) => program
                .components
                .get(c)
                .map(|component| {
                    parts_under(&component.program, line)
                        .into_iter()
                        .map(|part| PartKey { component: c, part })
                        .collect()
                })
                .unwrap_or_default(),
            (None, Some(key), _) => vec![key],
            _ => Vec::new(),
        };
        self.part_keys
            .iter()
            .enumerate()
            .filter(|(_, k)| keys.contains(k))
            .map(|(i, _)| i)
            .collect()
    }
}
