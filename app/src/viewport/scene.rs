//! What the viewport shows: CPU data only, no GL.
//!
//! All geometry is in the normalized frame `[-0.5, 0.5]³` (binvox shapes have +y up).
//! [`SceneMeshes`] changes rarely and is turned into GPU objects only when its `revision`
//! changes; [`SceneView`] is cheap and read every frame.

use roap_engine::data::{TriangleMesh, VoxelGrid};
use roap_engine::export::ColoredPart;
use serde::{Deserialize, Serialize};
use three_d::{CpuMesh, Indices, Positions, Vec3};

/// The meshes to draw. Built by the app when meshes change.
#[derive(Clone, Debug, Default)]
pub struct SceneMeshes {
    /// Bumped by the app whenever any mesh here changes; GPU objects are rebuilt only then.
    pub revision: u64,
    /// The input shape's surface (normalized frame), drawn when `SceneView::input_style == Surface`.
    pub input_surface: Option<TriangleMesh>,
    /// Centres of the input's surface voxels (normalized frame) and the voxel edge length,
    /// drawn as instanced cubes when `input_style == Voxels`.
    pub input_voxels: Vec<[f32; 3]>,
    pub voxel_size: f32,
    /// The current discrete program's surface.
    pub reconstruction: Option<TriangleMesh>,
    /// A completion result (shown like the reconstruction, in its own colour).
    pub completion: Option<TriangleMesh>,
    /// One mesh per live part, with its colour.
    pub parts: Vec<ColoredPart>,
}

/// How the input shape is drawn.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub enum InputStyle {
    #[default]
    Voxels,
    Surface,
    Hidden,
}

/// The part of space a crop removes from the input.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum ClipRegion {
    /// Points p (normalized frame) with normal·p > offset are the removed side.
    HalfSpace { normal: [f32; 3], offset: f32 },
    /// The octant whose coordinates have these signs (true = positive) is removed.
    Octant { positive: [bool; 3] },
}

impl ClipRegion {
    /// Whether `point` (normalized frame) lies in the removed region.
    pub fn removes(&self, point: [f32; 3]) -> bool {
        match *self {
            Self::HalfSpace { normal, offset } => dot(normal, point) > offset,
            Self::Octant { positive } => {
                (0..3).all(|axis| (point[axis] > 0.0) == positive[axis] && point[axis] != 0.0)
            }
        }
    }
}

/// What to show, per frame; changing it never rebuilds GPU objects.
#[derive(Clone, Debug, PartialEq)]
pub struct SceneView {
    pub input_style: InputStyle,
    pub show_reconstruction: bool,
    pub show_parts: bool,
    pub show_completion: bool,
    /// Input on the left, program (reconstruction/parts/completion) on the right, instead of overlaid.
    pub side_by_side: bool,
    /// Indices into `SceneMeshes::parts` to emphasise; when non-empty the other parts are dimmed (drawn translucent).
    pub highlighted_parts: Vec<usize>,
    /// The crop: input geometry inside the removed region is drawn as a faint translucent ghost, the
    /// rest opaque; a half-space also draws its plane as a translucent quad clipped to the unit cube.
    pub crop: Option<ClipRegion>,
}

impl Default for SceneView {
    fn default() -> Self {
        Self {
            input_style: InputStyle::Voxels,
            show_reconstruction: true,
            show_parts: false,
            show_completion: true,
            side_by_side: true,
            highlighted_parts: Vec::new(),
            crop: None,
        }
    }
}

impl SceneView {
    /// Whether any of the program's layers (reconstruction, parts, completion) is shown.
    pub fn shows_program(&self) -> bool {
        self.show_reconstruction || self.show_parts || self.show_completion
    }
}

/// Centres (normalized frame) of the occupied voxels with at least one empty face neighbour:
/// the only ones visible from outside, often a tenth of all occupied voxels.
pub fn surface_voxel_centres(grid: &VoxelGrid) -> Vec<[f32; 3]> {
    let resolution = grid.resolution();
    let mut centres = Vec::new();
    for x in 0..resolution {
        for y in 0..resolution {
            for z in 0..resolution {
                if grid.get([x, y, z]) && has_empty_neighbour(grid, [x, y, z]) {
                    centres.push(grid.normalized_centre([x, y, z]));
                }
            }
        }
    }
    centres
}

fn has_empty_neighbour(grid: &VoxelGrid, xyz: [usize; 3]) -> bool {
    (0..3).any(|axis| {
        let mut below = xyz;
        let mut above = xyz;
        above[axis] += 1;
        // `get` treats coordinates outside the grid as empty.
        let below_is_empty = match xyz[axis].checked_sub(1) {
            Some(coordinate) => {
                below[axis] = coordinate;
                !grid.get(below)
            }
            None => true,
        };
        below_is_empty || !grid.get(above)
    })
}

/// An engine mesh as three-d CPU geometry with smooth normals.
pub fn cpu_mesh_of(mesh: &TriangleMesh) -> CpuMesh {
    let mut cpu_mesh = CpuMesh {
        positions: Positions::F32(mesh.vertices.iter().map(|&v| Vec3::from(v)).collect()),
        indices: Indices::U32(mesh.triangles.iter().flatten().copied().collect()),
        ..Default::default()
    };
    cpu_mesh.compute_normals();
    cpu_mesh
}

/// The polygon where the plane `normal·p = offset` cuts the unit cube `[-0.5, 0.5]³`, as a
/// triangle fan mesh; `None` when the plane misses the cube (or `normal` is zero).
pub fn plane_in_unit_cube(normal: [f32; 3], offset: f32) -> Option<CpuMesh> {
    let corners: [[f32; 3]; 8] =
        std::array::from_fn(|i| [0, 1, 2].map(|axis| if i >> axis & 1 == 1 { 0.5 } else { -0.5 }));
    let mut polygon: Vec<[f32; 3]> = Vec::new();
    // The 12 edges join corners that differ in one bit.
    for (i, &start) in corners.iter().enumerate() {
        for axis in 0..3 {
            let j = i | 1 << axis;
            let Some(&end) = corners.get(j).filter(|_| j != i) else {
                continue;
            };
            let (start_distance, end_distance) =
                (dot(normal, start) - offset, dot(normal, end) - offset);
            if (start_distance > 0.0) == (end_distance > 0.0) {
                continue;
            }
            let t = start_distance / (start_distance - end_distance);
            polygon.push(std::array::from_fn(|k| start[k] + t * (end[k] - start[k])));
        }
    }
    if polygon.len() < 3 {
        return None;
    }
    // The cut of a convex cube is convex: order the points by angle around their centroid.
    let count = polygon.len() as f32;
    let centroid: [f32; 3] =
        std::array::from_fn(|k| polygon.iter().map(|p| p[k]).sum::<f32>() / count);
    let normal = Vec3::from(normal);
    let reference = Vec3::from(polygon.first().copied().unwrap_or_default()) - Vec3::from(centroid);
    let binormal = normal.cross(reference);
    let angle_of = |p: &[f32; 3]| {
        use three_d::InnerSpace as _;
        let from_centre = Vec3::from(*p) - Vec3::from(centroid);
        from_centre.dot(binormal).atan2(from_centre.dot(reference))
    };
    polygon.sort_by(|a, b| angle_of(a).total_cmp(&angle_of(b)));
    let mut vertices = vec![Vec3::from(centroid)];
    vertices.extend(polygon.iter().map(|&p| Vec3::from(p)));
    let rim = polygon.len() as u32;
    let indices = (0..rim)
        .flat_map(|i| [0, 1 + i, 1 + (i + 1) % rim])
        .collect();
    let mut mesh = CpuMesh {
        positions: Positions::F32(vertices),
        indices: Indices::U32(indices),
        ..Default::default()
    };
    mesh.compute_normals();
    Some(mesh)
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ball_grid() -> VoxelGrid {
        VoxelGrid::from_fn(16, |p| p.iter().map(|c| c * c).sum::<f32>() < 0.16)
    }

    #[test]
    fn surface_voxels_skip_the_interior() {
        let grid = ball_grid();
        let surface = surface_voxel_centres(&grid);
        assert!(!surface.is_empty());
        assert!(surface.len() < grid.count());
        // The voxel nearest the centre is buried.
        let nearest_centre = grid.normalized_centre([8, 8, 8]);
        assert!(!surface.contains(&nearest_centre));
    }

    #[test]
    fn a_full_grid_shows_only_its_shell() {
        let grid = VoxelGrid::from_fn(4, |_| true);
        // 4³ minus the 2³ interior.
        assert_eq!(surface_voxel_centres(&grid).len(), 64 - 8);
    }

    #[test]
    fn cpu_mesh_keeps_vertices_and_triangles() {
        let mesh = TriangleMesh {
            vertices: vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            triangles: vec![[0, 1, 2]],
        };
        let cpu_mesh = cpu_mesh_of(&mesh);
        assert_eq!(cpu_mesh.vertex_count(), 3);
        assert_eq!(cpu_mesh.triangle_count(), 1);
        assert!(cpu_mesh.normals.is_some());
    }

    #[test]
    fn plane_through_the_centre_cuts_a_square() {
        let Some(mesh) = plane_in_unit_cube([0.0, 1.0, 0.0], 0.0) else {
            panic!("the plane y = 0 cuts the cube");
        };
        // Centre plus four rim points, four fan triangles.
        assert_eq!(mesh.vertex_count(), 5);
        assert_eq!(mesh.triangle_count(), 4);
    }

    #[test]
    fn diagonal_plane_cuts_a_hexagon_and_distant_planes_miss() {
        let normal = [1.0 / 3f32.sqrt(); 3];
        let Some(hexagon) = plane_in_unit_cube(normal, 0.0) else {
            panic!("the diagonal plane cuts the cube");
        };
        assert_eq!(hexagon.triangle_count(), 6);
        assert!(plane_in_unit_cube(normal, 0.9).is_none());
        assert!(plane_in_unit_cube([0.0; 3], 0.0).is_none());
    }

    #[test]
    fn clip_regions_remove_the_documented_side() {
        let half_space = ClipRegion::HalfSpace {
            normal: [1.0, 0.0, 0.0],
            offset: 0.1,
        };
        assert!(half_space.removes([0.2, 0.0, 0.0]));
        assert!(!half_space.removes([0.0, 0.4, 0.0]));
        let octant = ClipRegion::Octant {
            positive: [true, false, true],
        };
        assert!(octant.removes([0.1, -0.1, 0.1]));
        assert!(!octant.removes([0.1, 0.1, 0.1]));
    }
}
