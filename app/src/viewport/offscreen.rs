//! The viewport's image: a framebuffer (colour + depth renderbuffers) three-d draws into
//! when the scene, view or camera changes, copied into egui's framebuffer every frame.
//!
//! The only GL calls the app makes itself; glow marks every GL call `unsafe`.

use std::sync::Arc;

use eframe::glow::{self, HasContext as _};

pub struct Offscreen {
    gl: Arc<glow::Context>,
    framebuffer: glow::Framebuffer,
    color: glow::Renderbuffer,
    depth: glow::Renderbuffer,
    width: u32,
    height: u32,
}

impl Offscreen {
    pub fn new(gl: &Arc<glow::Context>, width: u32, height: u32) -> Result<Self, String> {
        let (w, h) = (
            i32::try_from(width).map_err(|e| e.to_string())?,
            i32::try_from(height).map_err(|e| e.to_string())?,
        );
        #[allow(unsafe_code)]
        // SAFETY: plain object creation on the current context (we are inside egui's paint
        // callback, on the GL thread); the previous framebuffer binding is restored.
        unsafe {
            let previous = gl.get_parameter_framebuffer(glow::FRAMEBUFFER_BINDING);
            let framebuffer = gl.create_framebuffer()?;
            let color = gl.create_renderbuffer()?;
            let depth = gl.create_renderbuffer()?;
            gl.bind_renderbuffer(glow::RENDERBUFFER, Some(color));
            gl.renderbuffer_storage(glow::RENDERBUFFER, glow::RGBA8, w, h);
            gl.bind_renderbuffer(glow::RENDERBUFFER, Some(depth));
            gl.renderbuffer_storage(glow::RENDERBUFFER, glow::DEPTH_COMPONENT24, w, h);
            gl.bind_renderbuffer(glow::RENDERBUFFER, None);
            gl.bind_framebuffer(glow::FRAMEBUFFER, Some(framebuffer));
            gl.framebuffer_renderbuffer(
                glow::FRAMEBUFFER,
                glow::COLOR_ATTACHMENT0,
                glow::RENDERBUFFER,
                Some(color),
            );
            gl.framebuffer_renderbuffer(
                glow::FRAMEBUFFER,
                glow::DEPTH_ATTACHMENT,
                glow::RENDERBUFFER,
                Some(depth),
            );
            let status = gl.check_framebuffer_status(glow::FRAMEBUFFER);
            gl.bind_framebuffer(glow::FRAMEBUFFER, previous);
            let image = Self {
                gl: Arc::clone(gl),
                framebuffer,
                color,
                depth,
                width,
                height,
            };
            if status == glow::FRAMEBUFFER_COMPLETE {
                Ok(image)
            } else {
                Err(format!("framebuffer incomplete (status {status:#x})"))
            }
        }
    }

    pub fn framebuffer(&self) -> glow::Framebuffer {
        self.framebuffer
    }

    /// Runs `draw` (which binds this framebuffer through three-d), then rebinds the
    /// framebuffer egui was drawing into: three-d leaves its own target bound.
    pub fn draw_into(&self, draw: impl FnOnce()) {
        #[allow(unsafe_code)]
        // SAFETY: reading and restoring a binding on the current context.
        let previous = unsafe {
            self.gl
                .get_parameter_framebuffer(glow::DRAW_FRAMEBUFFER_BINDING)
        };
        draw();
        #[allow(unsafe_code)]
        // SAFETY: as above.
        unsafe {
            self.gl.bind_framebuffer(glow::DRAW_FRAMEBUFFER, previous);
        }
    }

    /// Copies the image onto the framebuffer bound for drawing, into `to` (pixels, origin at
    /// the bottom left), clipped to `clip`.
    pub fn blit_to_current(
        &self,
        gl: &glow::Context,
        to: three_d::Viewport,
        clip: three_d::ScissorBox,
    ) {
        let to_right = to.x + i32::try_from(to.width).unwrap_or(0);
        let to_top = to.y + i32::try_from(to.height).unwrap_or(0);
        #[allow(unsafe_code)]
        // SAFETY: a framebuffer blit from our own complete framebuffer; the read binding and
        // the scissor box are restored (egui sets the rest of its state per mesh).
        unsafe {
            let previous_read = gl.get_parameter_framebuffer(glow::READ_FRAMEBUFFER_BINDING);
            gl.enable(glow::SCISSOR_TEST);
            gl.scissor(
                clip.x,
                clip.y,
                i32::try_from(clip.width).unwrap_or(0),
                i32::try_from(clip.height).unwrap_or(0),
            );
            gl.bind_framebuffer(glow::READ_FRAMEBUFFER, Some(self.framebuffer));
            gl.blit_framebuffer(
                0,
                0,
                i32::try_from(self.width).unwrap_or(0),
                i32::try_from(self.height).unwrap_or(0),
                to.x,
                to.y,
                to_right,
                to_top,
                glow::COLOR_BUFFER_BIT,
                glow::NEAREST,
            );
            gl.bind_framebuffer(glow::READ_FRAMEBUFFER, previous_read);
        }
    }
}

impl Drop for Offscreen {
    fn drop(&mut self) {
        #[allow(unsafe_code)]
        // SAFETY: deleting objects this value created and alone uses.
        unsafe {
            self.gl.delete_framebuffer(self.framebuffer);
            self.gl.delete_renderbuffer(self.color);
            self.gl.delete_renderbuffer(self.depth);
        }
    }
}
