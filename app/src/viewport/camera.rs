//! An orbit camera around a target point: pure math, no GL.
//!
//! Everything is in the scene's normalized frame (the unit cube `[-0.5, 0.5]³`, +y up);
//! angles are in radians.

use serde::{Deserialize, Serialize};

/// Vertical field of view of the perspective projection, in radians (45°).
pub const FIELD_OF_VIEW_Y: f32 = std::f32::consts::FRAC_PI_4;

/// Radius of the sphere around the unit cube (half its space diagonal, √3 / 2).
const UNIT_CUBE_BOUNDING_RADIUS: f32 = 0.866_025_4;

/// Extra room around the unit cube in the reset view, so its corners don't touch the border.
const RESET_FRAMING_MARGIN: f32 = 1.08;

const RESET_YAW: f32 = 0.6;
const RESET_PITCH: f32 = 0.45;

/// Just short of straight up or down: at ±90° the view's up vector degenerates.
const MAX_PITCH: f32 = 1.5;
const MIN_DISTANCE: f32 = 0.2;
const MAX_DISTANCE: f32 = 20.0;

/// Radians of orbit per point of drag.
const ORBIT_RADIANS_PER_POINT: f32 = 0.008;
/// Scroll points that change the distance by a factor of e.
const SCROLL_POINTS_PER_E_FOLD: f32 = 400.0;

/// Looks at `target` from `distance` away, at `yaw` around +y (0 = from +z, the front;
/// positive = from the right, +x) and `pitch` above the horizontal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrbitCamera {
    pub yaw: f32,
    pub pitch: f32,
    pub distance: f32,
    pub target: [f32; 3],
}

impl Default for OrbitCamera {
    /// The reset view: the whole unit cube, seen from the front-right and above.
    ///
    /// Side by side needs no other framing: the viewport then splits its rect into two halves
    /// that each show one copy with this same camera (a narrow half widens its field of view,
    /// see [`field_of_view_y_for_aspect`]).
    fn default() -> Self {
        Self {
            yaw: RESET_YAW,
            pitch: RESET_PITCH,
            distance: RESET_FRAMING_MARGIN * UNIT_CUBE_BOUNDING_RADIUS
                / (0.5 * FIELD_OF_VIEW_Y).sin(),
            target: [0.0; 3],
        }
    }
}

impl OrbitCamera {
    /// Back to the [`Default`] view.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Turns around the target by a drag of `delta` points: right drags turn the scene
    /// right, down drags look from higher up. Pitch stops short of the poles.
    pub fn orbit(&mut self, delta: egui::Vec2) {
        self.yaw = (self.yaw - delta.x * ORBIT_RADIANS_PER_POINT) % std::f32::consts::TAU;
        self.pitch = (self.pitch + delta.y * ORBIT_RADIANS_PER_POINT).clamp(-MAX_PITCH, MAX_PITCH);
    }

    /// Moves the target in the view plane so that the point under the cursor (at the target's
    /// depth) follows a drag of `delta` points in a viewport `viewport_height_px` points tall.
    pub fn pan(&mut self, delta: egui::Vec2, viewport_height_px: f32) {
        if viewport_height_px <= 0.0 {
            return;
        }
        let units_per_point =
            2.0 * self.distance * (0.5 * FIELD_OF_VIEW_Y).tan() / viewport_height_px;
        let (right, up) = self.right_and_up();
        for axis in 0..3 {
            self.target[axis] += (-delta.x * right[axis] + delta.y * up[axis]) * units_per_point;
        }
    }

    /// Moves closer for positive `scroll` (points, as egui reports wheel motion), by a
    /// constant factor per point so that zooming feels the same at every distance.
    pub fn zoom(&mut self, scroll: f32) {
        self.distance = (self.distance * (-scroll / SCROLL_POINTS_PER_E_FOLD).exp())
            .clamp(MIN_DISTANCE, MAX_DISTANCE);
    }

    /// Divides the distance by `factor` (egui's pinch `zoom_delta`: above 1 zooms in).
    pub fn zoom_by_factor(&mut self, factor: f32) {
        if factor > 0.0 {
            self.zoom(factor.ln() * SCROLL_POINTS_PER_E_FOLD);
        }
    }

    /// Camera position.
    pub fn eye(&self) -> [f32; 3] {
        let offset = self.eye_direction();
        std::array::from_fn(|axis| self.target[axis] + self.distance * offset[axis])
    }

    /// Unit vector from the target towards the eye.
    fn eye_direction(&self) -> [f32; 3] {
        let (sin_yaw, cos_yaw) = self.yaw.sin_cos();
        let (sin_pitch, cos_pitch) = self.pitch.sin_cos();
        [cos_pitch * sin_yaw, sin_pitch, cos_pitch * cos_yaw]
    }

    /// The view's right and up unit vectors in world space.
    fn right_and_up(&self) -> ([f32; 3], [f32; 3]) {
        let (sin_yaw, cos_yaw) = self.yaw.sin_cos();
        let (sin_pitch, cos_pitch) = self.pitch.sin_cos();
        let right = [cos_yaw, 0.0, -sin_yaw];
        let up = [-sin_pitch * sin_yaw, cos_pitch, -sin_pitch * cos_yaw];
        (right, up)
    }
}

/// The vertical field of view for a viewport of `aspect` = width / height: [`FIELD_OF_VIEW_Y`]
/// when landscape, widened when portrait so that the horizontal field of view never drops
/// below it (what the reset view frames stays visible in a narrow side-by-side half).
pub fn field_of_view_y_for_aspect(aspect: f32) -> f32 {
    if aspect >= 1.0 || aspect <= 0.0 {
        FIELD_OF_VIEW_Y
    } else {
        2.0 * ((0.5 * FIELD_OF_VIEW_Y).tan() / aspect).atan()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length(v: [f32; 3]) -> f32 {
        v.iter().map(|c| c * c).sum::<f32>().sqrt()
    }

    fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn reset_frames_the_unit_cube_from_front_right_above() {
        let camera = OrbitCamera::default();
        let eye = camera.eye();
        assert!(eye[0] > 0.0 && eye[1] > 0.0 && eye[2] > 0.0, "{eye:?}");
        assert_eq!(camera.target, [0.0; 3]);
        // Every cube corner lies within the half field of view around the view direction.
        let forward = eye.map(|c| -c / length(eye));
        for corner in 0..8 {
            let corner = [0, 1, 2].map(|axis| if corner >> axis & 1 == 1 { 0.5 } else { -0.5 });
            let to_corner: [f32; 3] = std::array::from_fn(|axis| corner[axis] - eye[axis]);
            let angle = (dot(to_corner, forward) / length(to_corner)).acos();
            assert!(
                angle < 0.5 * FIELD_OF_VIEW_Y,
                "corner {corner:?} at {angle} rad"
            );
        }
    }

    #[test]
    fn reset_undoes_navigation() {
        let mut camera = OrbitCamera::default();
        camera.orbit(egui::vec2(120.0, -40.0));
        camera.pan(egui::vec2(10.0, 5.0), 600.0);
        camera.zoom(300.0);
        camera.reset();
        assert_eq!(camera, OrbitCamera::default());
    }

    #[test]
    fn orbit_clamps_pitch() {
        let mut camera = OrbitCamera::default();
        camera.orbit(egui::vec2(0.0, 1e6));
        assert_eq!(camera.pitch, MAX_PITCH);
        camera.orbit(egui::vec2(0.0, -1e6));
        assert_eq!(camera.pitch, -MAX_PITCH);
    }

    #[test]
    fn zoom_clamps_distance_and_keeps_the_target() {
        let mut camera = OrbitCamera::default();
        camera.zoom(1e6);
        assert_eq!(camera.distance, MIN_DISTANCE);
        camera.zoom(-1e6);
        assert_eq!(camera.distance, MAX_DISTANCE);
        assert_eq!(camera.target, [0.0; 3]);
        assert!((length(camera.eye()) - MAX_DISTANCE).abs() < 1e-3);
    }

    #[test]
    fn zoom_in_then_out_returns() {
        let mut camera = OrbitCamera::default();
        let start = camera.distance;
        camera.zoom(50.0);
        assert!(camera.distance < start);
        camera.zoom_by_factor(0.5f32.recip());
        camera.zoom(-50.0);
        camera.zoom_by_factor(0.5);
        assert!((camera.distance - start).abs() < 1e-4);
    }

    #[test]
    fn pan_moves_in_the_view_plane() {
        let mut camera = OrbitCamera::default();
        let eye_before = camera.eye();
        camera.pan(egui::vec2(30.0, -20.0), 500.0);
        // The target started at the origin, so `eye_before` is the view axis.
        let moved = camera.target;
        assert!(length(moved) > 0.0);
        assert!(dot(moved, eye_before).abs() < 1e-5);
        // The eye moves along with the target.
        let eye_shift: [f32; 3] = std::array::from_fn(|axis| camera.eye()[axis] - eye_before[axis]);
        assert!((length(eye_shift) - length(moved)).abs() < 1e-5);
    }

    #[test]
    fn portrait_viewports_widen_the_vertical_field_of_view() {
        assert_eq!(field_of_view_y_for_aspect(1.5), FIELD_OF_VIEW_Y);
        let narrow = field_of_view_y_for_aspect(0.5);
        assert!(narrow > FIELD_OF_VIEW_Y);
        // The horizontal half-angle equals the landscape vertical one.
        let horizontal_half_tan = (0.5 * narrow).tan() * 0.5;
        assert!((horizontal_half_tan - (0.5 * FIELD_OF_VIEW_Y).tan()).abs() < 1e-5);
    }
}
