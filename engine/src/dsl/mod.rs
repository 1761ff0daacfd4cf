//! Discrete straight-line programs (paper Fig. 2): `V` input lines, then `L` code lines
//! `l = op(left, right)` whose arguments come from earlier lines; the last line is the output.

mod ops;
mod program;
mod text;

pub use ops::{OpSet, Operator, Semantics};
pub use program::{Line, Program};
pub use text::parse;

/// What can go wrong building, parsing or evaluating a program.
#[derive(Debug, thiserror::Error)]
pub enum DslError {
    #[error("invalid program: {0}")]
    Invalid(String),
    #[error("parse error on line {line}: {message}")]
    Parse { line: usize, message: String },
    #[error("expected {expected} input values, got {got}")]
    InputCount { expected: usize, got: usize },
}
