use serde::{Deserialize, Serialize};

use super::{DslError, OpSet};

/// One code line: `op(left, right)`. Line ids count inputs first, so a line may read any
/// smaller id. Unary operators store `right == left`, which keeps equality canonical.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Line {
    pub op: usize,
    pub left: usize,
    pub right: usize,
}

/// A discrete straight-line program over an [`OpSet`].
///
/// Invariants (checked by [`Program::new`] and on deserialization): at least one code line,
/// every argument refers to an earlier line, every op id exists, unary lines have
/// `right == left`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ProgramFields")]
pub struct Program {
    ops: OpSet,
    inputs: usize,
    lines: Vec<Line>,
}

#[derive(Deserialize)]
struct ProgramFields {
    ops: OpSet,
    inputs: usize,
    lines: Vec<Line>,
}

impl TryFrom<ProgramFields> for Program {
    type Error = DslError;
    fn try_from(fields: ProgramFields) -> Result<Self, DslError> {
        let ops = OpSet::validated(fields.ops.ops)?;
        Self::new(ops, fields.inputs, fields.lines)
    }
}

/// Most inputs, and most code lines, a program may have (the paper's have 30 lines and up to
/// 128 parts): a program read from a file cannot ask for more.
pub const MAX_LINES: usize = 1 << 16;

impl Program {
    /// # Errors
    /// If the program breaks an invariant listed on [`Program`].
    pub fn new(ops: OpSet, inputs: usize, mut lines: Vec<Line>) -> Result<Self, DslError> {
        if inputs == 0 {
            return Err(DslError::Invalid(
                "a program needs at least one input".into(),
            ));
        }
        if lines.is_empty() {
            return Err(DslError::Invalid(
                "a program needs at least one code line".into(),
            ));
        }
        if inputs > MAX_LINES || lines.len() > MAX_LINES {
            return Err(DslError::Invalid(format!(
                "{inputs} inputs and {} code lines: at most {MAX_LINES} of each",
                lines.len()
            )));
        }
        for (code_id, line) in lines.iter_mut().enumerate() {
            let line_id = inputs + code_id;
            let Some(op) = ops.get(line.op) else {
                return Err(DslError::Invalid(format!(
                    "line {line_id} uses operator {} of {}",
                    line.op,
                    ops.len()
                )));
            };
            if op.semantics.arity() == 1 {
                line.right = line.left;
            }
            if line.left >= line_id || line.right >= line_id {
                return Err(DslError::Invalid(format!(
                    "line {line_id} reads line {}, which is not earlier",
                    line.left.max(line.right)
                )));
            }
        }
        Ok(Self { ops, inputs, lines })
    }

    /// A uniformly random program (every op and every earlier line equally likely), for
    /// tests, benchmarks and synthetic tasks.
    pub fn random(rng: &mut impl rand::Rng, ops: &OpSet, inputs: usize, lines: usize) -> Self {
        let inputs = inputs.max(1);
        let lines = (0..lines.max(1))
            .map(|code_id| {
                let earlier = inputs + code_id;
                let op = rng.random_range(0..ops.len());
                let left = rng.random_range(0..earlier);
                let right = if ops.ops[op].semantics.arity() == 1 {
                    left
                } else {
                    rng.random_range(0..earlier)
                };
                Line { op, left, right }
            })
            .collect();
        Self {
            ops: ops.clone(),
            inputs,
            lines,
        }
    }

    pub fn ops(&self) -> &OpSet {
        &self.ops
    }

    /// Number of input lines `V`.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The code lines; code line `c` has line id `inputs + c`.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Id of the output line (the last one).
    pub fn output_id(&self) -> usize {
        self.inputs + self.lines.len() - 1
    }

    fn semantics_of(&self, line: &Line) -> super::Semantics {
        // `new` checked every op id.
        self.ops.ops[line.op].semantics
    }

    /// Values of every line (inputs first) at one input point.
    ///
    /// # Errors
    /// If `inputs` does not hold one value per input line.
    pub fn eval_lines(&self, inputs: &[f32]) -> Result<Vec<f32>, DslError> {
        if inputs.len() != self.inputs {
            return Err(DslError::InputCount {
                expected: self.inputs,
                got: inputs.len(),
            });
        }
        let mut values = inputs.to_vec();
        values.reserve(self.lines.len());
        for line in &self.lines {
            let value = self
                .semantics_of(line)
                .apply(values[line.left], values[line.right]);
            values.push(value);
        }
        Ok(values)
    }

    /// The program's output at one input point (exact semantics).
    ///
    /// # Errors
    /// If `inputs` does not hold one value per input line.
    pub fn eval(&self, inputs: &[f32]) -> Result<f32, DslError> {
        let values = self.eval_lines(inputs)?;
        Ok(values[values.len() - 1])
    }

    /// Which lines (inputs included) the output reaches through the arguments it reads.
    pub fn live(&self) -> Vec<bool> {
        let mut live = vec![false; self.inputs + self.lines.len()];
        live[self.output_id()] = true;
        for (code_id, line) in self.lines.iter().enumerate().rev() {
            if live[self.inputs + code_id] {
                live[line.left] = true;
                live[line.right] = true;
            }
        }
        live
    }

    /// Program length as the paper counts it: live code lines that are not skips.
    pub fn length(&self) -> usize {
        let live = self.live();
        self.lines
            .iter()
            .enumerate()
            .filter(|(code_id, line)| live[self.inputs + code_id] && !self.is_skip(line))
            .count()
    }

    /// Non-skip lines of the program written out as an expression tree, counting a line
    /// once per use. Equals [`Program::length`] when no line's value is used twice; this
    /// is the quantity whose expectation `relaxed::expected_length` computes exactly.
    pub fn tree_size(&self) -> usize {
        let mut uses = vec![0usize; self.inputs + self.lines.len()];
        uses[self.output_id()] = 1;
        let mut size = 0;
        for (code_id, line) in self.lines.iter().enumerate().rev() {
            let count = uses[self.inputs + code_id];
            if count == 0 {
                continue;
            }
            let semantics = self.semantics_of(line);
            if semantics.arity() == 1 {
                uses[line.left] += count;
            } else {
                uses[line.left] += count;
                uses[line.right] += count;
            }
            if !self.is_skip(line) {
                size += count;
            }
        }
        size
    }

    fn is_skip(&self, line: &Line) -> bool {
        self.semantics_of(line) == super::Semantics::Skip
    }

    /// An equivalent program without dead lines and without no-ops: references through
    /// skips and through idempotent ops on one value (`union(a, a)`) go to the value itself,
    /// and the remaining lines are renumbered in order. The value never changes.
    pub fn simplify(&self) -> Self {
        // `target[id]`: the line whose value `id` equals after collapsing no-ops.
        let mut target: Vec<usize> = (0..self.inputs + self.lines.len()).collect();
        for (code_id, line) in self.lines.iter().enumerate() {
            let semantics = self.semantics_of(line);
            let left = target[line.left];
            let right = target[line.right];
            if semantics == super::Semantics::Skip || (semantics.is_idempotent() && left == right) {
                target[self.inputs + code_id] = left;
            }
        }
        let output = target[self.output_id()];
        if output < self.inputs {
            // The whole program is the identity on one input: one skip line says so.
            let skip = self
                .ops
                .ops
                .iter()
                .position(|op| op.semantics == super::Semantics::Skip);
            let line = match skip {
                Some(op) => Line {
                    op,
                    left: output,
                    right: output,
                },
                // No skip operator can say it more briefly: keep the program as it is.
                None => return self.clone(),
            };
            return Self {
                ops: self.ops.clone(),
                inputs: self.inputs,
                lines: vec![line],
            };
        }
        // Mark the lines the collapsed output reaches.
        let mut keep = vec![false; self.inputs + self.lines.len()];
        keep[output] = true;
        for id in (self.inputs..=output).rev() {
            if keep[id] {
                let line = &self.lines[id - self.inputs];
                keep[target[line.left]] = true;
                keep[target[line.right]] = true;
            }
        }
        let mut new_id: Vec<usize> = (0..self.inputs + self.lines.len()).collect();
        let mut lines = Vec::new();
        for id in self.inputs..=output {
            if keep[id] && target[id] == id {
                let line = self.lines[id - self.inputs];
                new_id[id] = self.inputs + lines.len();
                lines.push(Line {
                    op: line.op,
                    left: new_id[target[line.left]],
                    right: new_id[target[line.right]],
                });
            }
        }
        Self {
            ops: self.ops.clone(),
            inputs: self.inputs,
            lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::SeedableRng as _;

    use super::*;
    use crate::dsl::parse;

    fn program_from(seed: u64, arithmetic: bool, inputs: usize, lines: usize) -> Program {
        let ops = if arithmetic {
            OpSet::arithmetic()
        } else {
            OpSet::csg()
        };
        Program::random(
            &mut rand::rngs::StdRng::seed_from_u64(seed),
            &ops,
            inputs,
            lines,
        )
    }

    proptest! {
        #[test]
        fn text_round_trips(seed: u64, arithmetic: bool, inputs in 1usize..6, lines in 1usize..20) {
            let program = program_from(seed, arithmetic, inputs, lines);
            prop_assert_eq!(parse(&program.to_string()).unwrap(), program);
        }

        #[test]
        fn json_round_trips(seed: u64, arithmetic: bool, inputs in 1usize..6, lines in 1usize..20) {
            let program = program_from(seed, arithmetic, inputs, lines);
            let json = serde_json::to_string(&program).unwrap();
            prop_assert_eq!(serde_json::from_str::<Program>(&json).unwrap(), program);
        }

        #[test]
        fn simplify_keeps_the_value_and_never_grows(
            seed: u64,
            arithmetic: bool,
            inputs in 1usize..5,
            lines in 1usize..25,
            point in proptest::collection::vec(-2.0f32..2.0, 5),
        ) {
            let program = program_from(seed, arithmetic, inputs, lines);
            let simple = program.simplify();
            let point = &point[..inputs];
            let (a, b) = (program.eval(point).unwrap(), simple.eval(point).unwrap());
            prop_assert!(a == b || (a.is_nan() && b.is_nan()), "{a} != {b}");
            prop_assert!(simple.lines().len() <= program.lines().len());
            prop_assert!(simple.length() <= program.length());
            // Simplified programs have no dead lines and no skips (unless the whole program is one).
            let live = simple.live();
            prop_assert!(live[simple.inputs()..].iter().all(|&l| l));
            prop_assert_eq!(simple.simplify(), simple.clone());
        }
    }

    #[test]
    fn simplify_collapses_skips_and_dead_lines() {
        let program = parse(
            "ops union=max intersection=min difference=difference skip=skip\n\
             inputs 3\n\
             l3 = intersection(l0, l2)\n\
             l4 = skip(l1)\n\
             l5 = union(l4, l4)\n\
             l6 = difference(l5, l0)\n\
             l7 = skip(l6)\n",
        )
        .unwrap();
        assert_eq!(program.length(), 2); // union(l4, l4) and difference are live non-skips
        assert_eq!(
            program.simplify().to_string(),
            "ops union=max intersection=min difference=difference skip=skip\n\
             inputs 3\n\
             l3 = difference(l1, l0)\n"
        );
        let identity =
            parse("ops add=add skip=skip\ninputs 2\nl2 = skip(l1)\nl3 = skip(l2)\n").unwrap();
        assert_eq!(
            identity.simplify().lines(),
            &[Line {
                op: 1,
                left: 1,
                right: 1
            }]
        );
    }

    #[test]
    fn tree_size_counts_shared_lines_per_use() {
        let program =
            parse("ops add=add mul=mul\ninputs 1\nl1 = add(l0, l0)\nl2 = mul(l1, l1)\n").unwrap();
        assert_eq!(program.length(), 2);
        assert_eq!(program.tree_size(), 3);
        assert_eq!(program.eval(&[1.5]).unwrap(), 9.0);
    }

    #[test]
    fn bad_programs_are_errors_not_panics() {
        for text in [
            "",
            "inputs 2\nl2 = add(l0, l1)\n",
            "ops add=add\ninputs 2\nl2 = add(l0, l2)\n",
            "ops add=add\ninputs 2\nl3 = add(l0, l1)\n",
            "ops add=add\ninputs 2\nl2 = sub(l0, l1)\n",
            "ops add=add\ninputs 2\nl2 = add(l0)\n",
            "ops add=nope\ninputs 2\nl2 = add(l0, l1)\n",
            "ops add=add add=mul\ninputs 2\nl2 = add(l0, l1)\n",
            "ops add=add\ninputs 0\n",
            "ops add=add\ninputs 2\n",
            "ops add=add\ninputs x\n",
            "ops add=add\ninputs 2\nl2 = add(l0, l1\n",
        ] {
            assert!(parse(text).is_err(), "accepted {text:?}");
        }
        let json = r#"{"ops":{"ops":[{"name":"add","semantics":"add"}]},"inputs":1,"lines":[{"op":0,"left":1,"right":0}]}"#;
        assert!(serde_json::from_str::<Program>(json).is_err());
        let program = parse("ops add=add\ninputs 2\nl2 = add(l0, l1)\n").unwrap();
        assert!(program.eval(&[1.0]).is_err());
    }
}
