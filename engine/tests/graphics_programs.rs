//! Graphics programs: the soft program (burn, fused CPU kernels) and the discrete program
//! (plain scalar code) agree when every choice is certain, in 3D and 2D; programs survive
//! JSON; per-shape synthesis fits a procedural shape, streams its events and stops when
//! cancelled.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use burn::tensor::{Device, Tensor, TensorData};
use roap_engine::data::{Furniture, VoxelGrid, generate, read_ply};
use roap_engine::export::{MeshFormat, write_parts};
use roap_engine::graphics::free_program::{FreeProgram, Initialization};
use roap_engine::graphics::meshes::{part_meshes, program_surface};
use roap_engine::graphics::parts::Retrieval;
use roap_engine::graphics::soft::Draw;
use roap_engine::graphics::{
    GraphicsProgram, PartFamily, Score, SketchConfig, StopReason, SynthConfig, SynthError, Target,
    synthesize,
};
use roap_engine::relaxed::Relaxation;
use roap_engine::train::{RunControl, TrainEvent};

fn small_3d() -> SketchConfig {
    SketchConfig {
        lines: 5,
        parts: 7,
        family: PartFamily::Library {
            warps: 6,
            surfaces: 6,
        },
        ..SketchConfig::paper_3d()
    }
}

fn small_2d() -> SketchConfig {
    SketchConfig {
        lines: 4,
        family: PartFamily::CirclesSquares {
            circles: 3,
            squares: 3,
        },
        ..SketchConfig::paper_2d()
    }
}

fn init(dim: usize, bias: f64) -> Initialization {
    let centres = (0..9)
        .map(|i| {
            (0..dim)
                .map(|a| ((i * 7 + a * 3) % 9) as f32 / 9.0 * 0.6 - 0.3)
                .collect()
        })
        .collect();
    let mut flip_normal = vec![0.0; dim];
    flip_normal[0] = 1.0;
    Initialization {
        centres,
        sizes: vec![vec![0.35; dim]],
        cavity: Vec::new(),
        flip_normal,
        symmetric: true,
        logit_scale: 0.1,
        chain_bias: bias,
        union_bias: bias,
        gate: 0.5,
    }
}

fn grid_points(dim: usize, per_axis: usize) -> Vec<Vec<f32>> {
    let total = per_axis.pow(dim as u32);
    (0..total)
        .map(|i| {
            (0..dim)
                .map(|a| {
                    let k = (i / per_axis.pow(a as u32)) % per_axis;
                    (k as f32 + 0.5) / per_axis as f32 - 0.5
                })
                .collect()
        })
        .collect()
}

/// Soft occupancy with every choice made certain (huge logit margins, hard library reads,
/// a one-hot loop count) against the discrete program's exact evaluation.
fn soft_matches_discrete(sketch: &SketchConfig) {
    let device = Device::flex();
    device.seed(3);
    let dim = sketch.dim;
    let model = FreeProgram::new(sketch, 1, &init(dim, 60.0), &device);
    let mut tensors = model.tensors(sketch);
    for component in &mut tensors.components {
        if let Some(count) = &component.count_logits {
            let c = count.dims()[1];
            let mut logits = vec![0.0f32; c];
            logits[c - 1] = 80.0; // the largest count
            component.count_logits =
                Some(Tensor::from_data(TensorData::new(logits, [1, c]), &device));
            component.step = Some(Tensor::from_data(
                TensorData::new(
                    (0..dim)
                        .map(|a| if a == 0 { 0.2 } else { 0.05 })
                        .collect::<Vec<f32>>(),
                    [1, dim],
                ),
                &device,
            ));
        }
    }
    let program = tensors.discretize(sketch, 0).unwrap();
    assert!(program.live_lines() > 0, "the chain program has live lines");
    let points = grid_points(dim, if dim == 3 { 12 } else { 40 });
    let flat: Vec<f32> = points.iter().flatten().copied().collect();
    let n = points.len();
    let soft = tensors
        .evaluate(
            sketch,
            &Tensor::from_data(TensorData::new(flat, [1, n, dim]), &device),
            Draw {
                relaxation: Relaxation::Softmax { temperature: 1.0 },
                retrieval: Retrieval::Hard,
                samples: 1,
                include_mode: false,
            },
        )
        .occupancy;
    let soft: Vec<f32> = soft.into_data().convert::<f32>().try_into_vec().unwrap();
    let mut inside = 0;
    for (p, s) in points.iter().zip(&soft) {
        let exact = program.occupancy(p);
        assert!(
            (exact - s).abs() < 2e-3,
            "at {p:?}: discrete {exact} vs soft {s}"
        );
        inside += usize::from(exact > 0.5);
    }
    assert!(
        inside > 0 && inside < n,
        "the test shape is neither empty nor full"
    );
}

#[test]
fn discrete_program_matches_soft_program_3d() {
    soft_matches_discrete(&small_3d());
}

#[test]
fn discrete_program_matches_soft_program_2d_with_all_components() {
    soft_matches_discrete(&small_2d());
}

#[test]
fn program_json_round_trip_reevaluates_exactly() {
    let device = Device::flex();
    device.seed(5);
    let sketch = small_3d();
    let model = FreeProgram::new(&sketch, 1, &init(3, 60.0), &device);
    let program = model.tensors(&sketch).discretize(&sketch, 0).unwrap();
    let json = serde_json::to_string(&program).unwrap();
    let back: GraphicsProgram = serde_json::from_str(&json).unwrap();
    assert_eq!(back, program);
    for p in grid_points(3, 9) {
        assert_eq!(
            back.occupancy(&p).to_bits(),
            program.occupancy(&p).to_bits()
        );
    }
    let text = program.to_string();
    assert!(
        text.contains("flip-union") && text.contains("union("),
        "{text}"
    );
}

#[test]
fn switching_a_line_off_passes_its_left_argument_through() {
    let device = Device::flex();
    device.seed(5);
    let sketch = small_3d();
    let model = FreeProgram::new(&sketch, 1, &init(3, 60.0), &device);
    let program = model
        .tensors(&sketch)
        .discretize(&sketch, 0)
        .unwrap()
        .compacted();
    let component = &program.components[0];
    let last = component.program.lines().len() - 1;
    let off = program.with_lines_off(&[(0, last)]);
    assert_eq!(off.with_lines_off(&[]), off);
    let line = off.components[0].program.lines()[last];
    assert_eq!(line.right, line.left);
    assert_eq!(
        off.components[0].program.ops().ops[line.op].name,
        "skip",
        "{off}"
    );
    let was = component.program.lines()[last];
    assert_ne!(component.program.ops().ops[was.op].name, "skip");
    // A live union/intersection/difference line changes the shape when it goes.
    assert!(
        grid_points(3, 9)
            .iter()
            .any(|p| off.occupancy(p) != program.occupancy(p))
    );
    // Lines that do not exist are ignored.
    assert_eq!(program.with_lines_off(&[(7, 0), (0, 999)]), program);
}

fn quick_config() -> SynthConfig {
    SynthConfig {
        sketch: SketchConfig {
            lines: 8,
            parts: 24,
            family: PartFamily::Library {
                warps: 16,
                surfaces: 16,
            },
            ..SketchConfig::paper_3d()
        },
        steps: 150,
        sample_points: 4096,
        batch_points: 1024,
        report_every: 50,
        eval_resolution: 32,
        ..SynthConfig::default()
    }
}

#[test]
fn synthesis_fits_a_procedural_table_and_streams_events() {
    let target = generate(Furniture::Table, 1, 32);
    let device = Device::flex().autodiff();
    let mut events = Vec::new();
    let outcome = synthesize(
        &Target::Voxels(target.clone()),
        &quick_config(),
        &device,
        &mut |e| events.push(e),
        &RunControl::default(),
    )
    .unwrap();
    // The run keeps the program of least fit error (Chamfer and 1 − IoU together).
    let first = events
        .iter()
        .find_map(|e| match e {
            TrainEvent::Metrics(m) => Some(Score {
                chamfer: m.chamfer,
                iou: m.iou,
            }),
            _ => None,
        })
        .unwrap();
    let end = Score {
        chamfer: outcome.chamfer,
        iou: outcome.iou,
    };
    let chamfer = outcome.chamfer.unwrap();
    assert!(
        end.error() < 0.7 * first.error() && chamfer < 6.0,
        "fit error went from {first:?} to {end:?}"
    );
    assert!(outcome.iou.unwrap() > 0.3, "IoU {:?}", outcome.iou);
    assert!(outcome.live_lines >= 1 && outcome.live_lines <= 8);
    assert_eq!(outcome.stop, StopReason::Finished);
    assert_eq!(outcome.steps, 150);
    let steps = events
        .iter()
        .filter(|e| matches!(e, TrainEvent::Step(_)))
        .count();
    assert_eq!(steps, 150);
    let snapshot = events
        .iter()
        .find_map(|e| match e {
            TrainEvent::Architecture(a) => Some(a.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(snapshot.op.len(), 1);
    assert_eq!(snapshot.op[0].len(), 8);
    assert_eq!(snapshot.left[0][0].len(), 24 + 8);
    for row in &snapshot.op[0] {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    // Reports carry the discrete program, which viewers mesh themselves.
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TrainEvent::Domain { value, .. }
            if value.get::<GraphicsProgram>().is_some_and(|p| p.live_parts() > 0)))
    );

    // The program's meshes: one surface, one coloured mesh per live part, both readable.
    let surface = program_surface(&outcome.program, 32);
    assert!(!surface.triangles.is_empty());
    let parts: Vec<_> = part_meshes(&outcome.program, 24)
        .into_iter()
        .map(|(_, part)| part)
        .collect();
    assert_eq!(parts.len(), outcome.live_parts);
    let mut bytes = Vec::new();
    write_parts(&mut bytes, &parts, MeshFormat::Ply).unwrap();
    let read = read_ply(&bytes).unwrap();
    let vertices: usize = parts.iter().map(|p| p.mesh.vertices.len()).sum();
    assert_eq!(read.vertices.len(), vertices);
}

#[test]
fn cancelling_returns_the_program_found_so_far() {
    let target = generate(Furniture::Chair, 2, 32);
    let device = Device::flex().autodiff();
    let control = RunControl::default();
    let steering = control.clone();
    let mut sink = |e: TrainEvent| {
        if let TrainEvent::Step(s) = e
            && s.step == 9
        {
            steering.cancel();
        }
    };
    let outcome = synthesize(
        &Target::Voxels(target),
        &quick_config(),
        &device,
        &mut sink,
        &control,
    )
    .unwrap();
    assert_eq!(outcome.stop, StopReason::Cancelled);
    assert_eq!(outcome.steps, 10);
    assert!(outcome.program.live_lines() >= 1);
}

#[test]
fn an_empty_shape_is_a_clear_error() {
    let device = Device::flex().autodiff();
    let result = synthesize(
        &Target::Voxels(VoxelGrid::empty(16)),
        &quick_config(),
        &device,
        &mut |_| {},
        &RunControl::default(),
    );
    assert!(matches!(result, Err(SynthError::EmptyTarget)), "{result:?}");
}
