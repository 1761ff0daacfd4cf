//! A seeded generator of furniture-like solids built from parts, with the symmetry and
//! repetition the graphics programs are meant to discover (mirrored legs, repeated boards).
//! For tests, multi-shape training sets and the bundled samples.
//!
//! [`generate`] draws a shape in its canonical pose; [`generate_varied`] also turns it about
//! the up axis and stretches its proportions, then [normalizes](VoxelGrid::normalized) it, so
//! amortized training sees shapes in the frame every input is fitted in.

use rand::{Rng, SeedableRng as _};
use serde::{Deserialize, Serialize};

use super::VoxelGrid;

/// The kinds of shape the generator makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Furniture {
    Chair,
    Table,
    Lamp,
    Shelf,
    Mug,
    /// A long seat on legs or two slabs, sometimes with a back.
    Bench,
    /// A round seat on three or four thin legs.
    Stool,
    /// A box with open compartments carved into its front (holes).
    Cabinet,
    /// A top on a slab at one end and a drawer block at the other (asymmetric).
    Desk,
    /// A body, a tapered shoulder and a thin neck.
    Bottle,
    /// A thin slab with a window carved through it (a hole).
    Frame,
    /// A seat and back with an arm on one side and sometimes a chaise (asymmetric).
    Sofa,
}

impl Furniture {
    pub const ALL: [Self; 12] = [
        Self::Chair,
        Self::Table,
        Self::Lamp,
        Self::Shelf,
        Self::Mug,
        Self::Bench,
        Self::Stool,
        Self::Cabinet,
        Self::Desk,
        Self::Bottle,
        Self::Frame,
        Self::Sofa,
    ];

    /// The kinds bundled in samples/shapes (seed 0, 64³).
    pub const BUNDLED: [Self; 5] = [Self::Chair, Self::Table, Self::Lamp, Self::Shelf, Self::Mug];

    pub fn name(self) -> &'static str {
        match self {
            Self::Chair => "chair",
            Self::Table => "table",
            Self::Lamp => "lamp",
            Self::Shelf => "shelf",
            Self::Mug => "mug",
            Self::Bench => "bench",
            Self::Stool => "stool",
            Self::Cabinet => "cabinet",
            Self::Desk => "desk",
            Self::Bottle => "bottle",
            Self::Frame => "frame",
            Self::Sofa => "sofa",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// A solid primitive in the normalized frame (y up).
#[derive(Clone, Copy, Debug)]
enum Part {
    Box {
        centre: [f32; 3],
        half: [f32; 3],
    },
    /// Vertical cylinder; `radius_top` ≠ `radius` makes a truncated cone.
    Cylinder {
        centre: [f32; 3],
        radius: f32,
        radius_top: f32,
        half_height: f32,
    },
    /// Ring in the xy plane around `centre`.
    Torus {
        centre: [f32; 3],
        major: f32,
        minor: f32,
    },
}

impl Part {
    fn contains(&self, p: [f32; 3]) -> bool {
        match *self {
            Self::Box { centre, half } => (0..3).all(|a| (p[a] - centre[a]).abs() <= half[a]),
            Self::Cylinder {
                centre,
                radius,
                radius_top,
                half_height,
            } => {
                let h = (p[1] - centre[1]) / half_height; // -1 bottom .. 1 top
                let r = radius + (radius_top - radius) * 0.5 * (h + 1.0);
                h.abs() <= 1.0 && (p[0] - centre[0]).powi(2) + (p[2] - centre[2]).powi(2) <= r * r
            }
            Self::Torus {
                centre,
                major,
                minor,
            } => {
                let (dx, dy, dz) = (p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]);
                let ring = (dx * dx + dy * dy).sqrt() - major;
                ring * ring + dz * dz <= minor * minor
            }
        }
    }
}

/// Parts added and parts carved out.
#[derive(Default)]
struct Assembly {
    solid: Vec<Part>,
    carved: Vec<Part>,
}

impl Assembly {
    fn add(&mut self, part: Part) {
        self.solid.push(part);
    }

    /// Adds `part` and its mirror images across the planes x = 0 and/or z = 0.
    fn add_mirrored(&mut self, part: Part, mirror_x: bool, mirror_z: bool) {
        let flips: &[[f32; 2]] = match (mirror_x, mirror_z) {
            (true, true) => &[[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]],
            (true, false) => &[[1.0, 1.0], [-1.0, 1.0]],
            (false, true) => &[[1.0, 1.0], [1.0, -1.0]],
            (false, false) => &[[1.0, 1.0]],
        };
        for &[fx, fz] in flips {
            let moved = |c: [f32; 3]| [c[0] * fx, c[1], c[2] * fz];
            self.solid.push(match part {
                Part::Box { centre, half } => Part::Box {
                    centre: moved(centre),
                    half,
                },
                Part::Cylinder {
                    centre,
                    radius,
                    radius_top,
                    half_height,
                } => Part::Cylinder {
                    centre: moved(centre),
                    radius,
                    radius_top,
                    half_height,
                },
                Part::Torus {
                    centre,
                    major,
                    minor,
                } => Part::Torus {
                    centre: moved(centre),
                    major,
                    minor,
                },
            });
        }
    }

    fn contains(&self, p: [f32; 3]) -> bool {
        self.solid.iter().any(|part| part.contains(p))
            && !self.carved.iter().any(|part| part.contains(p))
    }
}

/// A `kind` shape drawn with `seed` in its canonical pose (y up, mirror plane x = 0 where it
/// has one), voxelized at `resolution³` over `[-0.5, 0.5]³`.
pub fn generate(kind: Furniture, seed: u64, resolution: usize) -> VoxelGrid {
    let assembly = assemble(kind, seed);
    VoxelGrid::from_fn(resolution, |p| assembly.contains(p))
}

/// A `kind` shape drawn with `seed`, turned about the up axis (half the time by a multiple
/// of 90°, else by any angle) and stretched along each axis by 0.75–1.33, then
/// [normalized](VoxelGrid::normalized) at `resolution³`: amortized training's shapes.
pub fn generate_varied(kind: Furniture, seed: u64, resolution: usize) -> VoxelGrid {
    let assembly = assemble(kind, seed);
    // Its own stream, so a seed's canonical shape is the same as `generate`'s.
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed_f00d_u64);
    let quarter = std::f32::consts::FRAC_PI_2;
    let yaw = if rng.random_bool(0.5) {
        quarter * rng.random_range(0..4) as f32
    } else {
        rng.random_range(0.0..4.0 * quarter)
    };
    let stretch: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.75f32..1.33));
    let (sin, cos) = yaw.sin_cos();
    // Drawn in a cube 1.8 times larger, so turned and stretched shapes stay inside (a
    // corner turned by 45° and stretched reaches 0.85); the normalization then drops the
    // margin. 2.5 times finer than `resolution`, so parts 1.5 voxels thin survive.
    let fine = resolution * 5 / 2;
    let grid = VoxelGrid::from_fn(fine, |p| {
        let q = p.map(|c| c * 1.8);
        let q = [q[0] / stretch[0], q[1] / stretch[1], q[2] / stretch[2]];
        // The inverse turn about y.
        assembly.contains([cos * q[0] + sin * q[2], q[1], -sin * q[0] + cos * q[2]])
    });
    grid.normalized(resolution)
}

fn assemble(kind: Furniture, seed: u64) -> Assembly {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let rng = &mut rng;
    match kind {
        Furniture::Chair => chair(rng),
        Furniture::Table => table(rng),
        Furniture::Lamp => lamp(rng),
        Furniture::Shelf => shelf(rng),
        Furniture::Mug => mug(rng),
        Furniture::Bench => bench(rng),
        Furniture::Stool => stool(rng),
        Furniture::Cabinet => cabinet(rng),
        Furniture::Desk => desk(rng),
        Furniture::Bottle => bottle(rng),
        Furniture::Frame => frame(rng),
        Furniture::Sofa => sofa(rng),
    }
}

fn chair(rng: &mut impl Rng) -> Assembly {
    let (width, depth) = (rng.random_range(0.25..0.35), rng.random_range(0.25..0.35));
    let seat_y = rng.random_range(-0.1..0.0);
    let leg = rng.random_range(0.025..0.04);
    let mut chair = Assembly::default();
    chair.add(Part::Box {
        centre: [0.0, seat_y, 0.0],
        half: [width, 0.03, depth],
    });
    let leg_height = (seat_y + 0.45) / 2.0;
    chair.add_mirrored(
        Part::Box {
            centre: [width - leg, -0.45 + leg_height, depth - leg],
            half: [leg, leg_height, leg],
        },
        true,
        true,
    );
    let back_top = rng.random_range(0.3..0.45);
    let back_half = (back_top - seat_y) / 2.0;
    chair.add(Part::Box {
        centre: [0.0, seat_y + back_half, -depth + 0.025],
        half: [width, back_half, 0.025],
    });
    if rng.random_bool(0.5) {
        chair.add_mirrored(
            Part::Box {
                centre: [width - 0.02, seat_y + 0.12, 0.0],
                half: [0.02, 0.02, depth],
            },
            true,
            false,
        );
    }
    chair
}

fn table(rng: &mut impl Rng) -> Assembly {
    let (width, depth) = (rng.random_range(0.3..0.45), rng.random_range(0.2..0.4));
    let top_y = rng.random_range(0.0..0.2);
    let mut table = Assembly::default();
    table.add(Part::Box {
        centre: [0.0, top_y, 0.0],
        half: [width, 0.03, depth],
    });
    let leg_height = (top_y + 0.45) / 2.0;
    if rng.random_bool(0.6) {
        let leg = rng.random_range(0.02..0.04);
        table.add_mirrored(
            Part::Box {
                centre: [width - 2.0 * leg, -0.45 + leg_height, depth - 2.0 * leg],
                half: [leg, leg_height, leg],
            },
            true,
            true,
        );
    } else {
        let radius = rng.random_range(0.03..0.06);
        table.add(Part::Cylinder {
            centre: [0.0, -0.45 + leg_height, 0.0],
            radius,
            radius_top: radius,
            half_height: leg_height,
        });
        let foot = rng.random_range(0.15..0.25);
        table.add(Part::Cylinder {
            centre: [0.0, -0.43, 0.0],
            radius: foot,
            radius_top: foot,
            half_height: 0.02,
        });
    }
    table
}

fn lamp(rng: &mut impl Rng) -> Assembly {
    let mut lamp = Assembly::default();
    let base = rng.random_range(0.12..0.2);
    lamp.add(Part::Cylinder {
        centre: [0.0, -0.42, 0.0],
        radius: base,
        radius_top: base * 0.9,
        half_height: 0.03,
    });
    let pole_top = rng.random_range(0.05..0.2);
    let pole_half = (pole_top + 0.39) / 2.0;
    lamp.add(Part::Cylinder {
        centre: [0.0, -0.39 + pole_half, 0.0],
        radius: 0.02,
        radius_top: 0.02,
        half_height: pole_half,
    });
    let (shade_bottom, shade_top) = (rng.random_range(0.2..0.3), rng.random_range(0.08..0.15));
    let shade_half = rng.random_range(0.1..0.15);
    lamp.add(Part::Cylinder {
        centre: [0.0, pole_top + shade_half, 0.0],
        radius: shade_bottom,
        radius_top: shade_top,
        half_height: shade_half,
    });
    lamp
}

fn shelf(rng: &mut impl Rng) -> Assembly {
    let (width, depth, height) = (
        rng.random_range(0.25..0.4),
        rng.random_range(0.12..0.2),
        rng.random_range(0.35..0.45),
    );
    let mut shelf = Assembly::default();
    shelf.add_mirrored(
        Part::Box {
            centre: [width, 0.0, 0.0],
            half: [0.02, height, depth],
        },
        true,
        false,
    );
    let boards = rng.random_range(3..=5);
    for board in 0..boards {
        let y = -height + 0.02 + (2.0 * height - 0.04) * board as f32 / (boards - 1) as f32;
        shelf.add(Part::Box {
            centre: [0.0, y, 0.0],
            half: [width, 0.015, depth],
        });
    }
    if rng.random_bool(0.5) {
        shelf.add(Part::Box {
            centre: [0.0, 0.0, -depth + 0.01],
            half: [width, height, 0.01],
        });
    }
    shelf
}

fn mug(rng: &mut impl Rng) -> Assembly {
    let (radius, half_height) = (rng.random_range(0.18..0.26), rng.random_range(0.22..0.32));
    let wall = rng.random_range(0.03..0.05);
    let mut mug = Assembly::default();
    mug.add(Part::Cylinder {
        centre: [0.0, 0.0, 0.0],
        radius,
        radius_top: radius,
        half_height,
    });
    // Carving applies to every part, so the handle cannot fill the cup either.
    mug.carved.push(Part::Cylinder {
        centre: [0.0, wall, 0.0],
        radius: radius - wall,
        radius_top: radius - wall,
        half_height,
    });
    let major = rng.random_range(0.1..0.14);
    mug.add(Part::Torus {
        centre: [radius + major * 0.5, 0.0, 0.0],
        major,
        minor: wall * 0.8,
    });
    mug
}

fn bench(rng: &mut impl Rng) -> Assembly {
    let (width, depth) = (rng.random_range(0.38..0.48), rng.random_range(0.1..0.18));
    let seat_y = rng.random_range(-0.2..-0.05);
    let thickness = rng.random_range(0.015..0.035);
    let mut bench = Assembly::default();
    bench.add(Part::Box {
        centre: [0.0, seat_y, 0.0],
        half: [width, thickness, depth],
    });
    let leg_height = (seat_y + 0.45) / 2.0;
    if rng.random_bool(0.5) {
        let leg = rng.random_range(0.012..0.03);
        bench.add_mirrored(
            Part::Box {
                centre: [width - 2.0 * leg, -0.45 + leg_height, depth - leg],
                half: [leg, leg_height, leg],
            },
            true,
            true,
        );
    } else {
        let inset = rng.random_range(0.03..0.12);
        bench.add_mirrored(
            Part::Box {
                centre: [width - inset, -0.45 + leg_height, 0.0],
                half: [0.015, leg_height, depth * 0.9],
            },
            true,
            false,
        );
    }
    if rng.random_bool(0.5) {
        let top = rng.random_range(0.1..0.3);
        let half = (top - seat_y) / 2.0;
        bench.add(Part::Box {
            centre: [0.0, seat_y + half, -depth + 0.015],
            half: [width, half, 0.015],
        });
    }
    bench
}

fn stool(rng: &mut impl Rng) -> Assembly {
    let seat = rng.random_range(0.12..0.22);
    let seat_y = rng.random_range(0.0..0.3);
    let leg = rng.random_range(0.012..0.03);
    let legs = rng.random_range(3..=4);
    let mut stool = Assembly::default();
    stool.add(Part::Cylinder {
        centre: [0.0, seat_y, 0.0],
        radius: seat,
        radius_top: seat,
        half_height: rng.random_range(0.02..0.04),
    });
    let leg_half = (seat_y + 0.45) / 2.0;
    let spread = seat * rng.random_range(0.6..0.85);
    for i in 0..legs {
        // Legs start at the front (+z), so three legs are mirror symmetric across x = 0.
        let angle = std::f32::consts::TAU * i as f32 / legs as f32;
        stool.add(Part::Cylinder {
            centre: [spread * angle.sin(), -0.45 + leg_half, spread * angle.cos()],
            radius: leg,
            radius_top: leg,
            half_height: leg_half,
        });
    }
    if rng.random_bool(0.5) {
        stool.add(Part::Box {
            centre: [0.0, -0.45 + leg_half * rng.random_range(0.5..1.0), 0.0],
            half: [spread, 0.01, 0.01],
        });
    }
    stool
}

fn cabinet(rng: &mut impl Rng) -> Assembly {
    let (width, depth, height) = (
        rng.random_range(0.2..0.42),
        rng.random_range(0.12..0.25),
        rng.random_range(0.25..0.45),
    );
    let wall = rng.random_range(0.015..0.03);
    let mut cabinet = Assembly::default();
    cabinet.add(Part::Box {
        centre: [0.0, 0.0, 0.0],
        half: [width, height, depth],
    });
    let rows = rng.random_range(1..=3);
    let columns = rng.random_range(1..=2);
    let cell_w = (2.0 * width - wall) / columns as f32;
    let cell_h = (2.0 * height - wall) / rows as f32;
    for row in 0..rows {
        for column in 0..columns {
            cabinet.carved.push(Part::Box {
                centre: [
                    -width + wall / 2.0 + cell_w * (column as f32 + 0.5),
                    -height + wall / 2.0 + cell_h * (row as f32 + 0.5),
                    wall,
                ],
                half: [cell_w / 2.0 - wall / 2.0, cell_h / 2.0 - wall / 2.0, depth],
            });
        }
    }
    cabinet
}

fn desk(rng: &mut impl Rng) -> Assembly {
    let (width, depth) = (rng.random_range(0.35..0.48), rng.random_range(0.18..0.3));
    let top_y = rng.random_range(0.0..0.15);
    let mut desk = Assembly::default();
    desk.add(Part::Box {
        centre: [0.0, top_y, 0.0],
        half: [width, 0.025, depth],
    });
    let half = (top_y + 0.45) / 2.0;
    // A slab at −x, a drawer block at +x.
    desk.add(Part::Box {
        centre: [-width + 0.02, -0.45 + half, 0.0],
        half: [0.02, half, depth * 0.95],
    });
    let block = rng.random_range(0.08..0.16);
    desk.add(Part::Box {
        centre: [width - block, -0.45 + half, 0.0],
        half: [block, half, depth * 0.95],
    });
    let drawers = rng.random_range(0..=3);
    for i in 0..drawers {
        let y = top_y - 0.05 - 0.08 * i as f32;
        desk.carved.push(Part::Box {
            centre: [width - block, y, depth * 0.95],
            half: [block * 0.7, 0.025, 0.02],
        });
    }
    desk
}

fn bottle(rng: &mut impl Rng) -> Assembly {
    let radius = rng.random_range(0.1..0.2);
    let body_top = rng.random_range(-0.05..0.15);
    let neck = rng.random_range(0.025..0.06);
    let mut bottle = Assembly::default();
    let body_half = (body_top + 0.45) / 2.0;
    bottle.add(Part::Cylinder {
        centre: [0.0, -0.45 + body_half, 0.0],
        radius,
        radius_top: radius,
        half_height: body_half,
    });
    let shoulder = rng.random_range(0.05..0.12);
    bottle.add(Part::Cylinder {
        centre: [0.0, body_top + shoulder, 0.0],
        radius,
        radius_top: neck,
        half_height: shoulder,
    });
    let neck_bottom = body_top + 2.0 * shoulder;
    let neck_half = (0.45 - neck_bottom) / 2.0;
    bottle.add(Part::Cylinder {
        centre: [0.0, neck_bottom + neck_half, 0.0],
        radius: neck,
        radius_top: neck,
        half_height: neck_half,
    });
    bottle
}

fn frame(rng: &mut impl Rng) -> Assembly {
    let (width, height) = (rng.random_range(0.2..0.42), rng.random_range(0.25..0.45));
    let border = rng.random_range(0.03..0.1);
    let mut frame = Assembly::default();
    frame.add(Part::Box {
        centre: [0.0, 0.0, 0.0],
        half: [width, height, rng.random_range(0.015..0.05)],
    });
    if rng.random_bool(0.5) {
        frame.carved.push(Part::Box {
            centre: [0.0, border / 2.0, 0.0],
            half: [width - border, height - border, 0.2],
        });
    } else {
        let radius = (width.min(height) - border).max(0.05);
        frame.carved.push(Part::Torus {
            centre: [0.0, 0.0, 0.0],
            major: radius / 2.0,
            minor: radius / 2.0,
        });
    }
    // A foot to stand on, sometimes.
    if rng.random_bool(0.5) {
        frame.add(Part::Box {
            centre: [0.0, -height, 0.0],
            half: [width * 0.6, 0.02, 0.12],
        });
    }
    frame
}

fn sofa(rng: &mut impl Rng) -> Assembly {
    let (width, depth) = (rng.random_range(0.35..0.48), rng.random_range(0.15..0.25));
    let seat_y = rng.random_range(-0.25..-0.1);
    let mut sofa = Assembly::default();
    sofa.add(Part::Box {
        centre: [0.0, (seat_y - 0.45) / 2.0, 0.0],
        half: [width, (seat_y + 0.45) / 2.0, depth],
    });
    let back_top = rng.random_range(0.05..0.25);
    let back = rng.random_range(0.04..0.08);
    sofa.add(Part::Box {
        centre: [0.0, (back_top - 0.45) / 2.0, -depth + back],
        half: [width, (back_top + 0.45) / 2.0, back],
    });
    let arm = rng.random_range(0.03..0.07);
    let arm_top = seat_y + rng.random_range(0.08..0.18);
    sofa.add(Part::Box {
        centre: [width - arm, (arm_top - 0.45) / 2.0, 0.0],
        half: [arm, (arm_top + 0.45) / 2.0, depth],
    });
    if rng.random_bool(0.5) {
        // A chaise on the other side.
        let length = rng.random_range(0.15..0.3);
        sofa.add(Part::Box {
            centre: [-width + 0.15, (seat_y - 0.45) / 2.0, depth + length / 2.0],
            half: [0.15, (seat_y + 0.45) / 2.0, length / 2.0],
        });
    } else {
        sofa.add(Part::Box {
            centre: [-width + arm, (arm_top - 0.45) / 2.0, 0.0],
            half: [arm, (arm_top + 0.45) / 2.0, depth],
        });
    }
    sofa
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_a_plausible_repeatable_solid() {
        for kind in Furniture::ALL {
            let grid = generate(kind, 3, 32);
            assert_eq!(grid, generate(kind, 3, 32), "{kind:?} is not repeatable");
            assert_ne!(grid, generate(kind, 4, 32), "{kind:?} ignores its seed");
            let fill = grid.count() as f64 / 32f64.powi(3);
            assert!(fill > 0.003 && fill < 0.5, "{kind:?}: fill {fill}");
            // Mirror symmetry across x = 0 for all but the asymmetric kinds.
            if !matches!(kind, Furniture::Mug | Furniture::Desk | Furniture::Sofa) {
                let r = grid.resolution();
                let asymmetric = (0..r)
                    .flat_map(|x| (0..r).flat_map(move |y| (0..r).map(move |z| [x, y, z])))
                    .filter(|&[x, y, z]| grid.get([x, y, z]) != grid.get([r - 1 - x, y, z]))
                    .count();
                assert_eq!(asymmetric, 0, "{kind:?} is not mirror symmetric");
            }
        }
    }

    #[test]
    fn varied_shapes_are_normalized_and_differ_from_the_canonical_pose() {
        for kind in Furniture::ALL {
            let varied = generate_varied(kind, 5, 32);
            assert_eq!(varied, generate_varied(kind, 5, 32));
            let (lo, hi) = varied.occupied_bounds().expect("not empty");
            let longest = (0..3).map(|a| hi[a] + 1 - lo[a]).max().unwrap_or(0);
            // The longest side spans the grid less the normalization margin (2 voxels a side).
            assert!(
                (27..=29).contains(&longest),
                "{kind:?}: longest side {longest}"
            );
        }
        let poses: std::collections::HashSet<Vec<bool>> = (0..6)
            .map(|seed| {
                generate_varied(Furniture::Desk, seed, 16)
                    .occupied()
                    .to_vec()
            })
            .collect();
        assert_eq!(poses.len(), 6, "seeds should vary pose and proportions");
    }

    #[test]
    fn holes_are_carved_through() {
        // The cabinet's compartments and the frame's window leave much of their bounding
        // boxes empty.
        for kind in [Furniture::Cabinet, Furniture::Frame] {
            let grid = generate(kind, 0, 32);
            let (lo, hi) = grid.occupied_bounds().expect("not empty");
            let volume: usize = (0..3).map(|a| hi[a] + 1 - lo[a]).product();
            assert!(grid.count() * 10 < volume * 8, "{kind:?} is not hollow");
        }
    }

    #[test]
    fn the_mug_is_hollow() {
        let mug = generate(Furniture::Mug, 0, 32);
        // The centre column above the bottom is empty, the wall beside it is solid.
        assert!(!mug.get([16, 20, 16]));
        assert!(mug.count() > 500);
    }
}
