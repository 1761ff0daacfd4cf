//! Operator sets: each domain declares its operators as data (name + elementwise semantics).

use serde::{Deserialize, Serialize};

/// The exact elementwise meaning of an operator on two argument values.
///
/// The relaxed interpreter and the exact evaluator both read this, so a domain adds an
/// operator by naming one of these semantics, never by touching the interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Semantics {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `max(a, b)`: CSG union of occupancies.
    Max,
    /// `min(a, b)`: CSG intersection of occupancies.
    Min,
    /// `max(a - b, 0)`: CSG difference of occupancies.
    Difference,
    /// `a`: the no-op / skip connection; reads only its left argument.
    Skip,
}

impl Semantics {
    pub const ALL: [Self; 7] = [
        Self::Add,
        Self::Sub,
        Self::Mul,
        Self::Max,
        Self::Min,
        Self::Difference,
        Self::Skip,
    ];

    /// Number of arguments the operator reads (1 for skip, otherwise 2).
    pub fn arity(self) -> usize {
        match self {
            Self::Skip => 1,
            _ => 2,
        }
    }

    /// `op(a, a) == a` exactly, so a line applying it to one value twice is a no-op.
    pub fn is_idempotent(self) -> bool {
        matches!(self, Self::Max | Self::Min | Self::Skip)
    }

    #[inline]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            Self::Add => a + b,
            Self::Sub => a - b,
            Self::Mul => a * b,
            Self::Max => a.max(b),
            Self::Min => a.min(b),
            Self::Difference => (a - b).max(0.0),
            Self::Skip => a,
        }
    }

    /// Partial derivatives `(d op / d a, d op / d b)`.
    ///
    /// At ties the left argument takes the gradient (max, min) and the kink of
    /// `max(a - b, 0)` counts as flat, matching the stock-op formulation.
    #[inline]
    pub fn partials(self, a: f32, b: f32) -> (f32, f32) {
        match self {
            Self::Add => (1.0, 1.0),
            Self::Sub => (1.0, -1.0),
            Self::Mul => (b, a),
            Self::Max => {
                if a >= b {
                    (1.0, 0.0)
                } else {
                    (0.0, 1.0)
                }
            }
            Self::Min => {
                if a <= b {
                    (1.0, 0.0)
                } else {
                    (0.0, 1.0)
                }
            }
            Self::Difference => {
                if a - b > 0.0 {
                    (1.0, -1.0)
                } else {
                    (0.0, 0.0)
                }
            }
            Self::Skip => (1.0, 0.0),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Sub => "sub",
            Self::Mul => "mul",
            Self::Max => "max",
            Self::Min => "min",
            Self::Difference => "difference",
            Self::Skip => "skip",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One operator of a domain-specific language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    /// What programs call it, e.g. `union`.
    pub name: String,
    pub semantics: Semantics,
}

/// The operators a domain's programs may use, in the order of the architecture's op axis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpSet {
    pub ops: Vec<Operator>,
}

impl OpSet {
    /// Builds an op set from `(name, semantics)` pairs.
    ///
    /// # Errors
    /// If a name repeats, is empty or is not an identifier (the text form must parse back).
    pub fn new<'a>(
        ops: impl IntoIterator<Item = (&'a str, Semantics)>,
    ) -> Result<Self, crate::dsl::DslError> {
        let ops: Vec<Operator> = ops
            .into_iter()
            .map(|(name, semantics)| Operator {
                name: name.to_owned(),
                semantics,
            })
            .collect();
        Self::validated(ops)
    }

    pub(crate) fn validated(ops: Vec<Operator>) -> Result<Self, crate::dsl::DslError> {
        use crate::dsl::DslError;
        if ops.is_empty() {
            return Err(DslError::Invalid(
                "an op set needs at least one operator".into(),
            ));
        }
        for (i, op) in ops.iter().enumerate() {
            let is_identifier = op
                .name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && op
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !is_identifier {
                return Err(DslError::Invalid(format!(
                    "operator name {:?} is not an identifier",
                    op.name
                )));
            }
            if ops[..i].iter().any(|other| other.name == op.name) {
                return Err(DslError::Invalid(format!(
                    "operator name {:?} appears twice",
                    op.name
                )));
            }
        }
        Ok(Self { ops })
    }

    /// Constructive solid geometry over occupancies in [0, 1] (paper §4.2).
    pub fn csg() -> Self {
        Self {
            ops: [
                ("union", Semantics::Max),
                ("intersection", Semantics::Min),
                ("difference", Semantics::Difference),
                ("skip", Semantics::Skip),
            ]
            .map(|(name, semantics)| Operator {
                name: name.to_owned(),
                semantics,
            })
            .to_vec(),
        }
    }

    /// Arithmetic over real numbers (CIFAR-MATH, paper Fig. 9).
    pub fn arithmetic() -> Self {
        Self {
            ops: [
                ("add", Semantics::Add),
                ("sub", Semantics::Sub),
                ("mul", Semantics::Mul),
                ("skip", Semantics::Skip),
            ]
            .map(|(name, semantics)| Operator {
                name: name.to_owned(),
                semantics,
            })
            .to_vec(),
        }
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn get(&self, op_id: usize) -> Option<&Operator> {
        self.ops.get(op_id)
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.ops.iter().position(|op| op.name == name)
    }

    pub fn semantics(&self) -> Vec<Semantics> {
        self.ops.iter().map(|op| op.semantics).collect()
    }
}
