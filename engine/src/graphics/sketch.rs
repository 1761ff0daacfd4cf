//! The program sketch of a graphics program (App. B.1.2, C.1.4): a union of components, each
//! a straight-line program over its own parts, possibly under a flip-union or a for-loop.
//! Lines, parts and components are configuration, so 2D, 3D and the ablations are values of
//! [`SketchConfig`], not separate code.

use serde::{Deserialize, Serialize};

use super::PartFamily;
use crate::dsl::OpSet;

/// What a component does with its sub-program `z`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ComponentKind {
    /// `z` itself.
    Simple,
    /// `max(z(p), z(flip(p)))`, flipping over a learned hyperplane (App. B.1.1); in 3D the
    /// plane passes through the origin (App. C.1.3).
    FlipUnion,
    /// `max_{c < C} z(p − c·d)` with a learned direction `d` and count `C ≤ max_count`.
    ForLoop { max_count: usize },
}

impl ComponentKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Simple => "simple",
            Self::FlipUnion => "flip-union",
            Self::ForLoop { .. } => "for-loop",
        }
    }

    /// How many transformed copies of the query points the component evaluates.
    pub fn copies(&self) -> usize {
        match self {
            Self::Simple => 1,
            Self::FlipUnion => 2,
            Self::ForLoop { max_count } => (*max_count).max(1),
        }
    }
}

/// The whole sketch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SketchConfig {
    /// 2 or 3.
    pub dim: usize,
    pub components: Vec<ComponentKind>,
    /// Code lines of every component's straight-line program.
    pub lines: usize,
    /// Parts (input lines) per component; a fixed family fixes it.
    pub parts: usize,
    pub family: PartFamily,
    /// Whether components other than the first have a learned on/off gate (App. B.1.2).
    pub gates: bool,
    /// Whether flip planes pass through the origin (3D) or have a learned offset (2D).
    pub flip_through_origin: bool,
    /// Occupancy sharpness: `sigmoid(−sharpness · D)`; D is about ½ at a part's centre.
    pub sharpness: f64,
}

impl SketchConfig {
    /// The paper's 3D sketch: a flip-union of 20 lines over 128 parts from a shared library
    /// of 128 warps × 128 surfaces.
    pub fn paper_3d() -> Self {
        Self {
            dim: 3,
            components: vec![ComponentKind::FlipUnion],
            lines: 20,
            parts: 128,
            family: PartFamily::Library {
                warps: 128,
                surfaces: 128,
            },
            gates: false,
            flip_through_origin: true,
            sharpness: 20.0,
        }
    }

    /// Per-shape synthesis in 3D: a plain component and, gated, the paper's flip-union
    /// (its plane through the origin), so an asymmetric shape is not forced symmetric;
    /// 20 lines each over 32 parts from a shared library of 128 warps × 128 surfaces.
    /// Fewer parts than the paper's 128 suffice because they start on the shape
    /// ([`super::seeding`]), and keep the argument distributions searchable.
    pub fn synthesis_3d() -> Self {
        Self {
            components: vec![ComponentKind::Simple, ComponentKind::FlipUnion],
            parts: 32,
            gates: true,
            ..Self::paper_3d()
        }
    }

    /// The paper's 2D sketch: a simple component, two symmetry components and one repeated
    /// component (count ≤ 3), 20 lines each over 16 circles and 16 squares.
    pub fn paper_2d() -> Self {
        Self {
            dim: 2,
            components: vec![
                ComponentKind::Simple,
                ComponentKind::FlipUnion,
                ComponentKind::FlipUnion,
                ComponentKind::ForLoop { max_count: 3 },
            ],
            lines: 20,
            parts: 32,
            family: PartFamily::CirclesSquares {
                circles: 16,
                squares: 16,
            },
            gates: true,
            flip_through_origin: false,
            sharpness: 20.0,
        }
    }

    /// Parts per component.
    pub fn part_count(&self) -> usize {
        self.family.fixed_count().unwrap_or(self.parts)
    }

    /// The CSG operators every line chooses from.
    pub fn ops() -> OpSet {
        OpSet::csg()
    }
}
