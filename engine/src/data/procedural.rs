//! A seeded generator of furniture-like solids built from parts, with the symmetry and
//! repetition the graphics programs are meant to discover (mirrored legs, repeated boards).
//! For tests, multi-shape training sets and the bundled samples.

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
}

impl Furniture {
    pub const ALL: [Self; 5] = [Self::Chair, Self::Table, Self::Lamp, Self::Shelf, Self::Mug];

    pub fn name(self) -> &'static str {
        match self {
            Self::Chair => "chair",
            Self::Table => "table",
            Self::Lamp => "lamp",
            Self::Shelf => "shelf",
            Self::Mug => "mug",
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

/// A `kind` shape drawn with `seed`, voxelized at `resolution³` in the normalized frame.
pub fn generate(kind: Furniture, seed: u64, resolution: usize) -> VoxelGrid {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let assembly = match kind {
        Furniture::Chair => chair(&mut rng),
        Furniture::Table => table(&mut rng),
        Furniture::Lamp => lamp(&mut rng),
        Furniture::Shelf => shelf(&mut rng),
        Furniture::Mug => mug(&mut rng),
    };
    VoxelGrid::from_fn(resolution, |p| assembly.contains(p))
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
            assert!(fill > 0.01 && fill < 0.5, "{kind:?}: fill {fill}");
            // Mirror symmetry across x = 0 for all but the mug (handle on one side).
            if kind != Furniture::Mug {
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
    fn the_mug_is_hollow() {
        let mug = generate(Furniture::Mug, 0, 32);
        // The centre column above the bottom is empty, the wall beside it is solid.
        assert!(!mug.get([16, 20, 16]));
        assert!(mug.count() > 500);
    }
}
