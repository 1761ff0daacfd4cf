//! Small CPU renders of parts for the gallery: a z-buffered, Lambert-shaded orthographic
//! view of a mesh (3D), or the part's occupancy as an image (2D). Done on the CPU so a
//! gallery of a hundred parts costs no GL state and renders the same in tests.

use egui::{Color32, ColorImage};
use roap_engine::data::TriangleMesh;

/// The same three-quarter view for every part, so parts compare at a glance.
const YAW: f32 = 0.7;
const PITCH: f32 = 0.45;
const LIGHT: [f32; 3] = [0.35, 0.8, 0.5];

/// `mesh` seen from above-front-right, scaled to fill `size`×`size` pixels, shaded in
/// `color` on a transparent background. An empty mesh gives a transparent image.
pub fn render_mesh(mesh: &TriangleMesh, color: [f32; 3], size: usize) -> ColorImage {
    let mut image = ColorImage::filled([size, size], Color32::TRANSPARENT);
    if mesh.triangles.is_empty() || size == 0 {
        return image;
    }
    let (sin_yaw, cos_yaw) = YAW.sin_cos();
    let (sin_pitch, cos_pitch) = PITCH.sin_cos();
    // View space: x right, y up, z towards the viewer.
    let view: Vec<[f32; 3]> = mesh
        .vertices
        .iter()
        .map(|&[x, y, z]| {
            let (x1, z1) = (cos_yaw * x - sin_yaw * z, sin_yaw * x + cos_yaw * z);
            let (y2, z2) = (
                cos_pitch * y - sin_pitch * z1,
                sin_pitch * y + cos_pitch * z1,
            );
            [x1, y2, z2]
        })
        .collect();
    let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
    for v in &view {
        for a in 0..2 {
            lo[a] = lo[a].min(v[a]);
            hi[a] = hi[a].max(v[a]);
        }
    }
    let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1e-6);
    let margin = 0.08 * size as f32;
    let scale = (size as f32 - 2.0 * margin) / extent;
    let centre = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
    let to_pixel = |v: [f32; 3]| {
        [
            (v[0] - centre[0]) * scale + size as f32 / 2.0,
            size as f32 / 2.0 - (v[1] - centre[1]) * scale,
            v[2],
        ]
    };
    let light_length = LIGHT.iter().map(|c| c * c).sum::<f32>().sqrt();
    let mut depth = vec![f32::MIN; size * size];
    for triangle in &mesh.triangles {
        let corner = |i: u32| view.get(i as usize).copied();
        let (Some(a), Some(b), Some(c)) = (
            corner(triangle[0]),
            corner(triangle[1]),
            corner(triangle[2]),
        ) else {
            continue;
        };
        let normal = cross(sub(b, a), sub(c, a));
        let length = normal.iter().map(|n| n * n).sum::<f32>().sqrt();
        if length <= 0.0 {
            continue;
        }
        // Two-sided: surface nets do not promise an orientation.
        let lambert = (dot(normal, LIGHT) / (length * light_length)).abs();
        let shade = 0.35 + 0.65 * lambert;
        let pixel = Color32::from_rgb(
            channel(color[0] * shade),
            channel(color[1] * shade),
            channel(color[2] * shade),
        );
        let [pa, pb, pc] = [to_pixel(a), to_pixel(b), to_pixel(c)];
        fill_triangle(&mut image, &mut depth, size, [pa, pb, pc], pixel);
    }
    image
}

/// A 2D part's occupancy over the normalized square, `size`×`size`, row 0 at the top
/// (y = ½), in `color`.
pub fn render_occupancy_2d(
    occupancy: impl Fn(&[f32]) -> f32,
    color: [f32; 3],
    size: usize,
) -> ColorImage {
    let mut image = ColorImage::filled([size, size], Color32::TRANSPARENT);
    for row in 0..size {
        for column in 0..size {
            let p = [
                (column as f32 + 0.5) / size as f32 - 0.5,
                0.5 - (row as f32 + 0.5) / size as f32,
            ];
            let o = occupancy(&p).clamp(0.0, 1.0);
            image.pixels[row * size + column] = Color32::from_rgba_unmultiplied(
                channel(color[0]),
                channel(color[1]),
                channel(color[2]),
                channel(o),
            );
        }
    }
    image
}

fn fill_triangle(
    image: &mut ColorImage,
    depth: &mut [f32],
    size: usize,
    [a, b, c]: [[f32; 3]; 3],
    pixel: Color32,
) {
    let area = edge(a, b, c);
    if area.abs() < 1e-12 {
        return;
    }
    let clamp = |v: f32| (v.max(0.0) as usize).min(size - 1);
    let (x0, x1) = (
        clamp(a[0].min(b[0]).min(c[0])),
        clamp(a[0].max(b[0]).max(c[0]).ceil()),
    );
    let (y0, y1) = (
        clamp(a[1].min(b[1]).min(c[1])),
        clamp(a[1].max(b[1]).max(c[1]).ceil()),
    );
    for y in y0..=y1 {
        for x in x0..=x1 {
            let p = [x as f32 + 0.5, y as f32 + 0.5, 0.0];
            let (w0, w1, w2) = (
                edge(b, c, p) / area,
                edge(c, a, p) / area,
                edge(a, b, p) / area,
            );
            if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                continue;
            }
            let z = w0 * a[2] + w1 * b[2] + w2 * c[2];
            let index = y * size + x;
            if z > depth[index] {
                depth[index] = z;
                image.pixels[index] = pixel;
            }
        }
    }
}

fn edge(a: [f32; 3], b: [f32; 3], p: [f32; 3]) -> f32 {
    (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn channel(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use roap_engine::export::isosurface_of_fn;

    #[test]
    fn a_sphere_fills_the_middle_and_leaves_the_corners_empty() {
        let sphere = isosurface_of_fn(24, |[x, y, z]| {
            if x * x + y * y + z * z < 0.16 {
                1.0
            } else {
                0.0
            }
        });
        let image = render_mesh(&sphere, [1.0, 0.5, 0.2], 32);
        let at = |x: usize, y: usize| image.pixels[y * 32 + x];
        assert!(at(16, 16).a() == 255 && at(16, 16).r() > 100);
        assert_eq!(at(0, 0), Color32::TRANSPARENT);
        let filled = image.pixels.iter().filter(|p| p.a() > 0).count();
        // A disc of diameter ~84 % of the side: π/4 · 0.84² ≈ 55 % of the pixels.
        assert!((400..700).contains(&filled), "{filled} of 1024 pixels");
    }

    #[test]
    fn an_empty_mesh_renders_transparent() {
        let image = render_mesh(&TriangleMesh::default(), [1.0; 3], 8);
        assert!(image.pixels.iter().all(|p| *p == Color32::TRANSPARENT));
    }
}
