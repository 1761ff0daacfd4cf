//! The bundled samples in samples/shapes are exactly what the generator makes, and load.

#![allow(clippy::unwrap_used)] // Test helpers may panic on broken invariants.

use roap_engine::data::{Furniture, generate, read_shape};

#[test]
fn bundled_shapes_match_the_generator() {
    let dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("tests run under cargo"),
    )
    .join("../samples/shapes");
    for kind in Furniture::BUNDLED {
        let path = dir.join(format!("{}.binvox", kind.name()));
        let bundled = read_shape(&path, 64).unwrap();
        // Regenerate with: roap data procedural KIND --seed 0 --res 64 --out samples/shapes/KIND.binvox
        assert_eq!(
            bundled,
            generate(kind, 0, 64),
            "{} differs from the generator",
            path.display()
        );
    }
}
