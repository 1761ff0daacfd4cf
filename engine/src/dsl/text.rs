//! The canonical text form of a program:
//!
//! ```text
//! ops union=max intersection=min difference=difference skip=skip
//! inputs 2
//! l2 = union(l0, l1)
//! l3 = skip(l2)
//! ```
//!
//! Line ids count inputs first (`l0`, `l1` are the inputs here); the last line is the output.
//! Blank lines and lines starting with `#` are ignored.

use std::fmt;

use super::{DslError, Line, OpSet, Operator, Program, Semantics};

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ops")?;
        for op in &self.ops().ops {
            write!(f, " {}={}", op.name, op.semantics.name())?;
        }
        writeln!(f)?;
        writeln!(f, "inputs {}", self.inputs())?;
        for (code_id, line) in self.lines().iter().enumerate() {
            let op = &self.ops().ops[line.op];
            let id = self.inputs() + code_id;
            if op.semantics.arity() == 1 {
                writeln!(f, "l{id} = {}(l{})", op.name, line.left)?;
            } else {
                writeln!(f, "l{id} = {}(l{}, l{})", op.name, line.left, line.right)?;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Program {
    type Err = DslError;
    fn from_str(text: &str) -> Result<Self, DslError> {
        parse(text)
    }
}

/// Parses the canonical text form; `parse(&program.to_string()) == Ok(program)`.
///
/// # Errors
/// [`DslError::Parse`] with the 1-based line number, or [`DslError::Invalid`] if the
/// program it describes breaks an invariant.
pub fn parse(text: &str) -> Result<Program, DslError> {
    let mut ops: Option<OpSet> = None;
    let mut inputs: Option<usize> = None;
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let err = |message: String| DslError::Parse {
            line: line_no,
            message,
        };
        let row = raw.trim();
        if row.is_empty() || row.starts_with('#') {
            continue;
        }
        if let Some(rest) = row.strip_prefix("ops ") {
            if ops.is_some() {
                return Err(err("a second `ops` header".into()));
            }
            let mut declared = Vec::new();
            for item in rest.split_whitespace() {
                let Some((name, semantics)) = item.split_once('=') else {
                    return Err(err(format!("expected name=semantics, found {item:?}")));
                };
                let Some(semantics) = Semantics::from_name(semantics) else {
                    return Err(err(format!("unknown semantics {semantics:?}")));
                };
                declared.push(Operator {
                    name: name.to_owned(),
                    semantics,
                });
            }
            ops = Some(OpSet::validated(declared).map_err(|e| err(e.to_string()))?);
        } else if let Some(rest) = row.strip_prefix("inputs ") {
            if inputs.is_some() {
                return Err(err("a second `inputs` header".into()));
            }
            let count: usize = rest
                .trim()
                .parse()
                .map_err(|_| err(format!("bad input count {rest:?}")))?;
            if count > super::program::MAX_LINES {
                return Err(err(format!(
                    "{count} inputs, above the limit of {}",
                    super::program::MAX_LINES
                )));
            }
            inputs = Some(count);
        } else {
            let (Some(op_set), Some(input_count)) = (&ops, inputs) else {
                return Err(err("code before the `ops` and `inputs` headers".into()));
            };
            if lines.len() >= super::program::MAX_LINES {
                return Err(err(format!(
                    "more than {} code lines",
                    super::program::MAX_LINES
                )));
            }
            let expected_id = input_count + lines.len();
            lines.push(parse_code_line(row, op_set, expected_id).map_err(err)?);
        }
    }
    let ops = ops.ok_or(DslError::Parse {
        line: 0,
        message: "missing `ops` header".into(),
    })?;
    let inputs = inputs.ok_or(DslError::Parse {
        line: 0,
        message: "missing `inputs` header".into(),
    })?;
    Program::new(ops, inputs, lines)
}

/// `lID = name(lA, lB)` or `lID = name(lA)`.
fn parse_code_line(row: &str, ops: &OpSet, expected_id: usize) -> Result<Line, String> {
    let (lhs, rhs) = row
        .split_once('=')
        .ok_or_else(|| format!("expected `l{expected_id} = op(...)`, found {row:?}"))?;
    let id = parse_line_ref(lhs.trim())?;
    if id != expected_id {
        return Err(format!("expected line l{expected_id}, found l{id}"));
    }
    let rhs = rhs.trim();
    let (name, args) = rhs
        .strip_suffix(')')
        .and_then(|r| r.split_once('('))
        .ok_or_else(|| format!("expected op(args), found {rhs:?}"))?;
    let op = ops
        .index_of(name.trim())
        .ok_or_else(|| format!("unknown operator {:?}", name.trim()))?;
    let args = args
        .split(',')
        .map(|a| parse_line_ref(a.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let arity = ops.ops[op].semantics.arity();
    if args.len() != arity {
        return Err(format!(
            "{} takes {arity} argument(s), found {}",
            name.trim(),
            args.len()
        ));
    }
    let left = args[0];
    let right = *args.get(1).unwrap_or(&left);
    Ok(Line { op, left, right })
}

fn parse_line_ref(text: &str) -> Result<usize, String> {
    text.strip_prefix('l')
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(|| format!("expected a line reference like l3, found {text:?}"))
}
