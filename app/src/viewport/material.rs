//! The one three-d material every scene shape uses; its fragment shader is `shaders/shape.frag`.

use three_d::{
    Blend, ColorMapping, Cull, EffectMaterialId, Light, Material, MaterialType, Program,
    RenderStates, Vec3, Viewer, WriteMask,
};

use super::scene::ClipRegion;

/// Our id in three-d's public material id range (0x0000..0x4FFF); three-d caches compiled
/// programs by it, so it must differ from every other material we define.
const SHAPE_MATERIAL_ID: EffectMaterialId = EffectMaterialId(0x0101);

/// Which fragments, relative to the clip region, a draw keeps.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClipSide {
    Kept,
    Removed,
    Both,
}

/// Shaded flat colour with an optional rim highlight, drawn opaque when `alpha` is 1 and
/// blended (without depth writes) below.
#[derive(Clone, Debug)]
pub struct ShapeMaterial {
    /// Display (sRGB) colour, components in 0..=1.
    pub color: [f32; 3],
    pub alpha: f32,
    pub highlight: bool,
    pub clip: Option<ClipRegion>,
    pub clip_side: ClipSide,
    /// Unit vector towards the light, world space.
    pub light_direction: Vec3,
}

impl ShapeMaterial {
    pub fn new(color: [f32; 3], alpha: f32, light_direction: Vec3) -> Self {
        Self {
            color,
            alpha,
            highlight: false,
            clip: None,
            clip_side: ClipSide::Both,
            light_direction,
        }
    }

    pub fn is_transparent(&self) -> bool {
        self.alpha < 1.0
    }
}

impl Material for ShapeMaterial {
    fn id(&self) -> EffectMaterialId {
        SHAPE_MATERIAL_ID
    }

    fn fragment_shader_source(&self, _lights: &[&dyn Light]) -> String {
        let mut source = String::from(ColorMapping::fragment_shader_source());
        source.push_str(include_str!("../../../shaders/shape.frag"));
        source
    }

    fn use_uniforms(&self, program: &Program, viewer: &dyn Viewer, _lights: &[&dyn Light]) {
        viewer.color_mapping().use_uniforms(program);
        // Shading happens in linear light; `color_mapping` in the shader maps back to sRGB.
        let linear = self.color.map(|c| c.clamp(0.0, 1.0).powf(2.2));
        program.use_uniform_if_required("surfaceColor", Vec3::from(linear));
        program.use_uniform_if_required("alpha", self.alpha);
        program.use_uniform_if_required("highlight", if self.highlight { 1.0f32 } else { 0.0 });
        program.use_uniform_if_required("cameraPosition", viewer.position());
        program.use_uniform_if_required("lightDirection", self.light_direction);

        let (mode, normal, offset, octant_signs) = match self.clip {
            None => (0, [0.0; 3], 0.0, [1.0; 3]),
            Some(ClipRegion::HalfSpace { normal, offset }) => (1, normal, offset, [1.0; 3]),
            Some(ClipRegion::Octant { positive }) => (
                2,
                [0.0; 3],
                0.0,
                positive.map(|p| if p { 1.0 } else { -1.0 }),
            ),
        };
        let side = match (self.clip, self.clip_side) {
            (None, _) | (_, ClipSide::Both) => 2,
            (Some(_), ClipSide::Kept) => 0,
            (Some(_), ClipSide::Removed) => 1,
        };
        program.use_uniform_if_required("clipMode", mode);
        program.use_uniform_if_required("clipNormal", Vec3::from(normal));
        program.use_uniform_if_required("clipOffset", offset);
        program.use_uniform_if_required("octantSigns", Vec3::from(octant_signs));
        program.use_uniform_if_required("clipSide", side);
    }

    fn render_states(&self) -> RenderStates {
        if self.is_transparent() {
            RenderStates {
                // Colour only: no depth (translucent layers must not hide what lies behind
                // them) and no alpha (the window's alpha channel stays opaque).
                write_mask: WriteMask {
                    red: true,
                    green: true,
                    blue: true,
                    alpha: false,
                    depth: false,
                },
                blend: Blend::TRANSPARENCY,
                cull: Cull::None,
                ..Default::default()
            }
        } else {
            RenderStates::default()
        }
    }

    fn material_type(&self) -> MaterialType {
        if self.is_transparent() {
            MaterialType::Transparent
        } else {
            MaterialType::Opaque
        }
    }
}
