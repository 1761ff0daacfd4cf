//! The GL side of the viewport: three-d objects built from [`SceneMeshes`] and drawn inside
//! egui's paint callback. Everything here lives on the painting thread.

use std::cell::RefCell;
use std::sync::Arc;

use eframe::egui_glow;
use eframe::glow;
use three_d::{
    ClearState, Context, CpuMesh, Geometry, InnerSpace as _, InstancedMesh, Instances, Mat4, Mesh,
    RenderTarget, ScissorBox, Vec3, radians, rotation_matrix_from_dir_to_dir,
};

use super::offscreen::Offscreen;

use super::camera::{OrbitCamera, field_of_view_y_for_aspect};
use super::material::{ClipSide, ShapeMaterial};
use super::scene::{
    ClipRegion, InputStyle, SceneMeshes, SceneView, cpu_mesh_of, plane_in_unit_cube,
};

const INPUT_COLOR: [f32; 3] = [0.62, 0.67, 0.75];
const RECONSTRUCTION_COLOR: [f32; 3] = [0.96, 0.62, 0.28];
const COMPLETION_COLOR: [f32; 3] = [0.35, 0.78, 0.55];
const CROP_PLANE_COLOR: [f32; 3] = [0.35, 0.6, 0.98];

/// The input when the program is overlaid on it: see-through, so the program shows.
const OVERLAID_INPUT_ALPHA: f32 = 0.3;
/// Input in the crop's removed region.
const GHOST_ALPHA: f32 = 0.12;
/// Parts that are not highlighted while some are.
const DIMMED_PART_ALPHA: f32 = 0.2;
/// The reconstruction while parts, which cover it, are shown too.
const RECONSTRUCTION_UNDER_PARTS_ALPHA: f32 = 0.25;
const CROP_PLANE_ALPHA: f32 = 0.22;
const GRID_ALPHA: f32 = 0.35;

/// Ground grid: lines every `GRID_SPACING` over `[-GRID_HALF_EXTENT, GRID_HALF_EXTENT]²`,
/// just under the unit cube's floor.
const GRID_SPACING: f32 = 0.25;
const GRID_HALF_EXTENT: f32 = 1.0;
const GRID_HEIGHT: f32 = -0.502;
const LINE_RADIUS: f32 = 0.0025;

const Z_NEAR: f32 = 0.01;
const Z_FAR: f32 = 100.0;

/// Everything one frame needs; owned by the paint callback, so it is `Send + Sync`.
pub struct FrameSetup {
    pub camera: OrbitCamera,
    pub meshes: Arc<SceneMeshes>,
    pub view: SceneView,
    pub dark_mode: bool,
}

thread_local! {
    /// egui paints on one thread with one GL context per window; the renderer is built
    /// lazily on the first paint and rebuilt if the context changes.
    static RENDERER: RefCell<Option<Renderer>> = const { RefCell::new(None) };
}

/// Paints `frame` into the callback's rect. Does nothing (after one logged error) when
/// three-d cannot wrap egui's GL context.
pub fn paint(frame: &FrameSetup, info: &egui::PaintCallbackInfo, painter: &egui_glow::Painter) {
    RENDERER.with(|slot| {
        let Ok(mut slot) = slot.try_borrow_mut() else {
            return;
        };
        let gl = painter.gl();
        if !slot
            .as_ref()
            .is_some_and(|renderer| Arc::ptr_eq(&renderer.gl, gl))
        {
            *slot = Some(Renderer::new(gl));
        }
        if let Some(renderer) = slot.as_mut() {
            renderer.paint(frame, info);
        }
    });
}

struct Renderer {
    gl: Arc<glow::Context>,
    /// `None` when three-d failed to wrap `gl`; we then draw nothing.
    context: Option<Context>,
    cube_outline: Option<InstancedMesh>,
    ground_grid: Option<InstancedMesh>,
    scene: Option<GpuScene>,
    /// The crop plane's polygon and the half-space it was cut for.
    crop_plane: Option<(ClipRegion, Option<Mesh>)>,
    /// The last rendered image: most frames (a training run repaints for its curves) show
    /// an unchanged scene, and on a software rasterizer drawing it again costs ~10× more
    /// than copying it.
    cached: Option<CachedFrame>,
}

/// What a rendered image depends on.
#[derive(Clone, PartialEq)]
struct FrameKey {
    revision: u64,
    view: SceneView,
    camera: OrbitCamera,
    dark_mode: bool,
    width: u32,
    height: u32,
}

struct CachedFrame {
    key: FrameKey,
    image: Offscreen,
}

impl Renderer {
    fn new(gl: &Arc<glow::Context>) -> Self {
        let context = match Context::from_gl_context(Arc::clone(gl)) {
            Ok(context) => Some(context),
            Err(err) => {
                tracing::error!("the 3D viewport can't use this OpenGL context: {err}");
                None
            }
        };
        let cube_outline = context
            .as_ref()
            .map(|context| line_segments(context, &unit_cube_edges()));
        let ground_grid = context
            .as_ref()
            .map(|context| line_segments(context, &ground_grid_lines()));
        Self {
            gl: Arc::clone(gl),
            context,
            cube_outline,
            ground_grid,
            scene: None,
            crop_plane: None,
            cached: None,
        }
    }

    fn paint(&mut self, frame: &FrameSetup, info: &egui::PaintCallbackInfo) {
        let Some(context) = self.context.clone() else {
            return;
        };
        if self
            .scene
            .as_ref()
            .is_none_or(|scene| scene.revision != frame.meshes.revision)
        {
            self.scene = Some(GpuScene::new(&context, &frame.meshes));
        }
        self.update_crop_plane(&context, frame.view.crop);

        let viewport_px = info.viewport_in_pixels();
        let clip_px = info.clip_rect_in_pixels();
        let whole = three_d::Viewport {
            x: viewport_px.left_px,
            y: viewport_px.from_bottom_px,
            width: u32::try_from(viewport_px.width_px).unwrap_or(0),
            height: u32::try_from(viewport_px.height_px).unwrap_or(0),
        };
        let clip = ScissorBox {
            x: clip_px.left_px,
            y: clip_px.from_bottom_px,
            width: u32::try_from(clip_px.width_px).unwrap_or(0),
            height: u32::try_from(clip_px.height_px).unwrap_or(0),
        };
        let visible = clip.intersection(whole);
        if visible.width == 0 || visible.height == 0 {
            return;
        }
        let key = FrameKey {
            revision: frame.meshes.revision,
            view: frame.view.clone(),
            camera: frame.camera.clone(),
            dark_mode: frame.dark_mode,
            width: whole.width,
            height: whole.height,
        };
        if self.cached.as_ref().is_none_or(|c| c.key != key) {
            self.render_offscreen(&context, frame, key);
        }
        if let Some(cached) = &self.cached {
            // A framebuffer blit: a plain copy, where drawing a textured quad costs a
            // software rasterizer ~15 ms per frame.
            cached.image.blit_to_current(&self.gl, whole, visible);
        }
    }

    /// Draws the scene into an image of the viewport's size, reusing the framebuffer when
    /// the size is unchanged.
    fn render_offscreen(&mut self, context: &Context, frame: &FrameSetup, key: FrameKey) {
        let (width, height) = (key.width, key.height);
        let image = match self.cached.take() {
            Some(c) if c.key.width == width && c.key.height == height => c.image,
            _ => match Offscreen::new(&self.gl, width, height) {
                Ok(image) => image,
                Err(err) => {
                    tracing::error!("the 3D viewport cannot allocate its image: {err}");
                    return;
                }
            },
        };
        image.draw_into(|| {
            let target =
                RenderTarget::from_framebuffer(context, width, height, image.framebuffer());
            let [r, g, b] = background_color(frame.dark_mode);
            target.clear(ClearState::color_and_depth(r, g, b, 1.0, 1.0));
            let whole = three_d::Viewport {
                x: 0,
                y: 0,
                width,
                height,
            };
            let clip = ScissorBox::from(whole);
            if frame.view.side_by_side {
                let left_width = width / 2;
                let left = three_d::Viewport {
                    width: left_width,
                    ..whole
                };
                let right = three_d::Viewport {
                    x: i32::try_from(left_width).unwrap_or(0),
                    width: width - left_width,
                    ..whole
                };
                self.draw(&target, frame, left, clip, Layers::Input);
                self.draw(&target, frame, right, clip, Layers::Program);
            } else {
                self.draw(&target, frame, whole, clip, Layers::Both);
            }
            // The framebuffer belongs to `image`: take it back so the target does not delete it.
            let _ = target.into_framebuffer();
        });
        self.cached = Some(CachedFrame { key, image });
    }

    fn update_crop_plane(&mut self, context: &Context, crop: Option<ClipRegion>) {
        let Some(region @ ClipRegion::HalfSpace { normal, offset }) = crop else {
            self.crop_plane = None;
            return;
        };
        if self
            .crop_plane
            .as_ref()
            .is_none_or(|(cut_for, _)| *cut_for != region)
        {
            let mesh = plane_in_unit_cube(normal, offset).map(|cpu| Mesh::new(context, &cpu));
            self.crop_plane = Some((region, mesh));
        }
    }

    fn draw(
        &self,
        screen: &RenderTarget<'_>,
        frame: &FrameSetup,
        viewport: three_d::Viewport,
        clip: ScissorBox,
        layers: Layers,
    ) {
        let scissor = clip.intersection(viewport);
        if scissor.width == 0 || scissor.height == 0 || viewport.height == 0 {
            return;
        }
        let aspect = viewport.width as f32 / viewport.height as f32;
        let camera = three_d::Camera::new_perspective(
            viewport,
            Vec3::from(frame.camera.eye()),
            Vec3::from(frame.camera.target),
            Vec3::unit_y(),
            radians(field_of_view_y_for_aspect(aspect)),
            Z_NEAR,
            Z_FAR,
        );
        let light_direction = headlight_direction(&frame.camera);
        let draws = self.draw_list(frame, layers, light_direction);

        // Opaque first, then the translucent layers over them without depth writes.
        let result = screen.write_partially(scissor, || {
            for (geometry, material) in draws.iter().filter(|(_, m)| !m.is_transparent()) {
                geometry.render_with_material(material, &camera, &[]);
            }
            for (geometry, material) in draws.iter().filter(|(_, m)| m.is_transparent()) {
                geometry.render_with_material(material, &camera, &[]);
            }
            Ok::<(), std::convert::Infallible>(())
        });
        if let Err(never) = result {
            match never {}
        }
    }

    /// What to draw in one view, each with its material, in drawing order.
    fn draw_list(
        &self,
        frame: &FrameSetup,
        layers: Layers,
        light_direction: Vec3,
    ) -> Vec<(&dyn Geometry, ShapeMaterial)> {
        let view = &frame.view;
        let material = |color, alpha| ShapeMaterial::new(color, alpha, light_direction);
        let mut draws: Vec<(&dyn Geometry, ShapeMaterial)> = Vec::new();

        let (outline_color, grid_color) = if frame.dark_mode {
            ([0.55; 3], [0.75; 3])
        } else {
            ([0.45; 3], [0.35; 3])
        };
        if let Some(outline) = &self.cube_outline {
            draws.push((outline, material(outline_color, 1.0)));
        }
        if let Some(grid) = &self.ground_grid {
            draws.push((grid, material(grid_color, GRID_ALPHA)));
        }
        let Some(scene) = &self.scene else {
            return draws;
        };

        if layers.has_input() {
            let input: Option<&dyn Geometry> = match view.input_style {
                InputStyle::Voxels => scene.input_voxels.as_ref().map(|m| m as &dyn Geometry),
                InputStyle::Surface => scene.input_surface.as_ref().map(|m| m as &dyn Geometry),
                InputStyle::Hidden => None,
            };
            let overlaid = layers.has_program() && view.shows_program() && scene.has_program();
            let alpha = if overlaid { OVERLAID_INPUT_ALPHA } else { 1.0 };
            if let Some(input) = input {
                match view.crop {
                    None => draws.push((input, material(INPUT_COLOR, alpha))),
                    Some(region) => {
                        let kept = ShapeMaterial {
                            clip: Some(region),
                            clip_side: ClipSide::Kept,
                            ..material(INPUT_COLOR, alpha)
                        };
                        let ghost = ShapeMaterial {
                            clip_side: ClipSide::Removed,
                            ..material(INPUT_COLOR, GHOST_ALPHA)
                        };
                        draws.push((input, kept));
                        draws.push((
                            input,
                            ShapeMaterial {
                                clip: Some(region),
                                ..ghost
                            },
                        ));
                    }
                }
            }
            if let Some((_, Some(plane))) = &self.crop_plane {
                draws.push((plane, material(CROP_PLANE_COLOR, CROP_PLANE_ALPHA)));
            }
        }

        if layers.has_program() {
            let parts_shown = view.show_parts && !scene.parts.is_empty();
            if view.show_reconstruction
                && let Some(reconstruction) = &scene.reconstruction
            {
                let alpha = if parts_shown {
                    RECONSTRUCTION_UNDER_PARTS_ALPHA
                } else {
                    1.0
                };
                draws.push((reconstruction, material(RECONSTRUCTION_COLOR, alpha)));
            }
            if view.show_completion
                && let Some(completion) = &scene.completion
            {
                draws.push((completion, material(COMPLETION_COLOR, 1.0)));
            }
            if parts_shown {
                for (index, (mesh, color)) in scene.parts.iter().enumerate() {
                    let highlighted = view.highlighted_parts.contains(&index);
                    let dimmed = !view.highlighted_parts.is_empty() && !highlighted;
                    let alpha = if dimmed { DIMMED_PART_ALPHA } else { 1.0 };
                    let part_material = ShapeMaterial {
                        highlight: highlighted,
                        ..material(*color, alpha)
                    };
                    if let Some(mesh) = mesh {
                        draws.push((mesh, part_material));
                    }
                }
            }
        }
        draws
    }
}

/// Which layers one view shows: side by side splits them over two views.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layers {
    Input,
    Program,
    Both,
}

impl Layers {
    fn has_input(self) -> bool {
        matches!(self, Self::Input | Self::Both)
    }

    fn has_program(self) -> bool {
        matches!(self, Self::Program | Self::Both)
    }
}

/// GPU copies of one [`SceneMeshes`] revision. Empty meshes become `None`.
struct GpuScene {
    revision: u64,
    input_surface: Option<Mesh>,
    input_voxels: Option<InstancedMesh>,
    reconstruction: Option<Mesh>,
    completion: Option<Mesh>,
    /// Index-aligned with `SceneMeshes::parts` so highlight indices stay valid.
    parts: Vec<(Option<Mesh>, [f32; 3])>,
}

impl GpuScene {
    fn new(context: &Context, meshes: &SceneMeshes) -> Self {
        let mesh_of = |mesh: &roap_engine::data::TriangleMesh| {
            (!mesh.triangles.is_empty()).then(|| Mesh::new(context, &cpu_mesh_of(mesh)))
        };
        let input_voxels = (!meshes.input_voxels.is_empty()).then(|| {
            let half_size = 0.5 * meshes.voxel_size;
            let instances = Instances {
                transformations: meshes
                    .input_voxels
                    .iter()
                    .map(|&centre| {
                        Mat4::from_translation(Vec3::from(centre)) * Mat4::from_scale(half_size)
                    })
                    .collect(),
                ..Default::default()
            };
            InstancedMesh::new(context, &instances, &CpuMesh::cube())
        });
        Self {
            revision: meshes.revision,
            input_surface: meshes.input_surface.as_ref().and_then(mesh_of),
            input_voxels,
            reconstruction: meshes.reconstruction.as_ref().and_then(mesh_of),
            completion: meshes.completion.as_ref().and_then(mesh_of),
            parts: meshes
                .parts
                .iter()
                .map(|part| (mesh_of(&part.mesh), part.color))
                .collect(),
        }
    }

    fn has_program(&self) -> bool {
        self.reconstruction.is_some()
            || self.completion.is_some()
            || self.parts.iter().any(|(mesh, _)| mesh.is_some())
    }
}

/// The scene's background, a little lighter than egui's panels in both themes.
pub fn background_color(dark_mode: bool) -> [f32; 3] {
    if dark_mode {
        [0.19, 0.2, 0.23]
    } else {
        [0.93, 0.94, 0.96]
    }
}

/// A light over the viewer's left shoulder, so it moves with the camera and the side
/// facing the viewer is always lit.
fn headlight_direction(camera: &OrbitCamera) -> Vec3 {
    let eye = Vec3::from(camera.eye());
    let towards_eye = (eye - Vec3::from(camera.target)).normalize();
    let right = Vec3::unit_y().cross(towards_eye).normalize();
    let up = towards_eye.cross(right);
    (towards_eye + 0.6 * up - 0.4 * right).normalize()
}

/// Thin cylinders along the segments `(start, end)`.
fn line_segments(context: &Context, segments: &[([f32; 3], [f32; 3])]) -> InstancedMesh {
    let transformations = segments
        .iter()
        .map(|&(start, end)| {
            let (start, end) = (Vec3::from(start), Vec3::from(end));
            let along = end - start;
            // three-d's cylinder runs from 0 to 1 along x with radius 1.
            Mat4::from_translation(start)
                * rotation_matrix_from_dir_to_dir(Vec3::unit_x(), along.normalize())
                * Mat4::from_nonuniform_scale(along.magnitude(), LINE_RADIUS, LINE_RADIUS)
        })
        .collect();
    let mut cylinder = CpuMesh::cylinder(8);
    cylinder.compute_normals();
    let instances = Instances {
        transformations,
        ..Default::default()
    };
    InstancedMesh::new(context, &instances, &cylinder)
}

/// The 12 edges of `[-0.5, 0.5]³`.
fn unit_cube_edges() -> Vec<([f32; 3], [f32; 3])> {
    let corner = |bits: usize| [0, 1, 2].map(|axis| if bits >> axis & 1 == 1 { 0.5 } else { -0.5 });
    let mut edges = Vec::with_capacity(12);
    for bits in 0..8 {
        for axis in 0..3 {
            if bits >> axis & 1 == 0 {
                edges.push((corner(bits), corner(bits | 1 << axis)));
            }
        }
    }
    edges
}

fn ground_grid_lines() -> Vec<([f32; 3], [f32; 3])> {
    let steps = (GRID_HALF_EXTENT / GRID_SPACING).round() as i32;
    (-steps..=steps)
        .flat_map(|step| {
            let at = step as f32 * GRID_SPACING;
            let (low, high) = (-GRID_HALF_EXTENT, GRID_HALF_EXTENT);
            [
                ([at, GRID_HEIGHT, low], [at, GRID_HEIGHT, high]),
                ([low, GRID_HEIGHT, at], [high, GRID_HEIGHT, at]),
            ]
        })
        .collect()
}
