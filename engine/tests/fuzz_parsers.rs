//! Property-based fuzzing of every file entry point: arbitrary bytes, and valid files with
//! random bytes overwritten or cut short, must give `Ok` or a typed error — never a panic,
//! a hang or an absurd allocation. (cargo-fuzz needs a nightly toolchain, which this
//! project's machines do not have; this runs on stable in CI.)

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use proptest::prelude::*;
use roap_engine::data::{self, Furniture};
use roap_engine::dsl::Program;
use roap_engine::export::{self, MeshFormat};

fn parse_all(bytes: &[u8]) {
    let _ = data::read_binvox(bytes);
    let _ = data::read_obj(bytes);
    let _ = data::read_off(bytes);
    let _ = data::read_stl(bytes);
    let _ = data::read_ply(bytes);
    let _ = data::read_png(bytes);
    let _ = std::str::from_utf8(bytes).map(str::parse::<Program>);
}

/// One valid file of each format.
fn seeds() -> Vec<Vec<u8>> {
    let grid = data::generate(Furniture::Mug, 1, 12);
    let mesh = export::isosurface_of_grid(&grid);
    let mut files = vec![data::write_binvox(&grid)];
    for format in [MeshFormat::Obj, MeshFormat::Stl, MeshFormat::Ply] {
        let mut bytes = Vec::new();
        export::write_mesh(&mut bytes, &mesh, format).unwrap();
        files.push(bytes);
    }
    files.push(b"OFF\n4 1 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n4 0 1 2 3\n".to_vec());
    files.push(include_bytes!("../../samples/programs/csg_hidden.txt").to_vec());
    let mut png = Vec::new();
    image::GrayImage::from_fn(16, 16, |x, y| image::Luma([if x > y { 255 } else { 0 }]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    files.push(png);
    files
}

proptest! {
    // ROAP_FUZZ_CASES=20000 runs a longer campaign; CI runs the default.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("ROAP_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
    ))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        parse_all(&bytes);
    }

    #[test]
    fn headers_with_garbage_never_panic(
        header in prop::sample::select(vec![
            &b"#binvox 1\ndim 4 4 4\ndata\n"[..],
            b"solid x\n",
            b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n",
            b"ply\nformat binary_little_endian 1.0\nelement vertex 99999999\nproperty float x\nend_header\n",
            b"OFF\n3 1 0\n",
            b"v 0 0 0\nf ",
            b"ops add=add\ninputs 2\n",
        ]),
        tail in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = header.to_vec();
        bytes.extend(tail);
        parse_all(&bytes);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        which in 0usize..7,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate: bool,
    ) {
        let mut bytes = seeds().swap_remove(which);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        parse_all(&bytes);
    }
}

#[test]
fn binary_stl_with_a_huge_triangle_count_is_refused_quickly() {
    let mut bytes = vec![0u8; 84];
    bytes[80..84].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(data::read_stl(&bytes).is_err());
}

/// A small gzip-compressed IM-NET style file, written once per process.
fn hdf5_seed() -> &'static [u8] {
    static SEED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("roap-fuzz-seed-{}.hdf5", std::process::id()));
        let file = rust_hdf5::H5File::create(&path).unwrap();
        let dataset = file
            .new_dataset::<u8>()
            .shape([2usize, 4, 4, 4, 1])
            .chunk(&[1usize, 4, 4, 4, 1])
            .deflate(6)
            .create("voxels")
            .unwrap();
        dataset.write_raw(&[1u8; 128]).unwrap();
        file.close().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("ROAP_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn mutated_hdf5_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate: bool,
        case: u64,
    ) {
        let mut bytes = hdf5_seed().to_vec();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let path = std::env::temp_dir().join(format!("roap-fuzz-{}-{case}.hdf5", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let _ = data::read_voxel_dataset(&path, "voxels");
        std::fs::remove_file(&path).unwrap();
    }
}
