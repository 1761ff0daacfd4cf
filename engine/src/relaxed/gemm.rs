//! A bounds-checked wrapper over the `gemm` crate (the same GEMM burn's flex backend uses),
//! so the fused interpreter can multiply strided sub-matrices without copying them.
#![allow(unsafe_code)]

/// A strided view of a row-major buffer: element `(r, c)` is `data[r * row_stride + c * col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    pub fn transposed(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
                < self.data.len()
    }
}

/// `dst (+)= lhs · rhs` with `dst` a contiguous row-major `lhs.rows × rhs.cols` matrix.
///
/// Single-threaded: callers parallelise over independent blocks.
pub(crate) fn matmul(dst: &mut [f32], lhs: MatRef<'_>, rhs: MatRef<'_>, accumulate: bool) {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    assert_eq!(rhs.rows, k, "matmul: inner dimensions differ");
    assert!(dst.len() >= m * n, "matmul: destination too small");
    assert!(lhs.fits() && rhs.fits(), "matmul: view exceeds its buffer");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    // SAFETY: every index the kernel touches lies inside the slices: `fits` checked the
    // largest offset of both views, `dst` holds m·n elements, and `dst` is a unique borrow
    // so it cannot alias the shared inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Makes this thread flush subnormal floats to zero (x86 FTZ + DAZ). Soft programs at low
/// temperature multiply probabilities like e^-90 by small occupancies; their subnormal
/// products cost ~100× a normal multiply and made whole steps 10× slower. Values that small
/// carry no information here. Kernels and training loops hold the returned guard for the
/// duration of their work; the setting is per thread and is undone when the guard drops.
#[must_use = "the thread's flags are put back when the guard drops"]
pub fn flush_subnormals() -> FlushSubnormals {
    #[cfg(target_arch = "x86_64")]
    #[allow(deprecated)]
    // SAFETY: reading MXCSR and setting its FTZ (bit 15) and DAZ (bit 6) flags changes only
    // how this thread rounds subnormal results; every other bit is kept.
    unsafe {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        let previous = _mm_getcsr();
        _mm_setcsr(previous | SUBNORMAL_FLAGS);
        FlushSubnormals { previous }
    }
    #[cfg(not(target_arch = "x86_64"))]
    FlushSubnormals {}
}

/// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6).
#[cfg(target_arch = "x86_64")]
const SUBNORMAL_FLAGS: u32 = (1 << 15) | (1 << 6);

/// While alive, this thread flushes subnormals to zero ([`flush_subnormals`]); dropping it
/// puts the thread's previous FTZ and DAZ flags back, so a caller embedding the engine keeps
/// its own floating-point environment.
#[derive(Debug)]
pub struct FlushSubnormals {
    #[cfg(target_arch = "x86_64")]
    previous: u32,
}

impl Drop for FlushSubnormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        #[allow(deprecated)]
        // SAFETY: as in `flush_subnormals`: only FTZ and DAZ change, back to what they were.
        unsafe {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            _mm_setcsr((_mm_getcsr() & !SUBNORMAL_FLAGS) | (self.previous & SUBNORMAL_FLAGS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_naive_product_with_strides_and_accumulation() {
        // lhs is the transpose of a 3x2 buffer, rhs a 2x2 window of a 2x4 buffer.
        let lhs_buf = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let lhs = MatRef::row_major(&lhs_buf, 3, 2).transposed(); // 2x3
        let rhs_buf = [1.0, 0.0, 2.0, 9.0, 0.0, 1.0, 3.0, 9.0, 1.0, 1.0, 1.0, 9.0];
        let rhs = MatRef {
            data: &rhs_buf,
            rows: 3,
            cols: 3,
            row_stride: 4,
            col_stride: 1,
        };
        let mut dst = vec![10.0; 6];
        matmul(&mut dst, lhs, rhs, true);
        // lhs = [[1,3,5],[2,4,6]], rhs = [[1,0,2],[0,1,3],[1,1,1]]
        assert_eq!(dst, vec![16.0, 18.0, 26.0, 18.0, 20.0, 32.0]);
        matmul(&mut dst, lhs, rhs, false);
        assert_eq!(dst, vec![6.0, 8.0, 16.0, 8.0, 10.0, 22.0]);
    }
}
