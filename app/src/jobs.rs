//! Work off the UI thread: loading shapes, synthesis, meshing programs, completion, file
//! dialogs and exports. Each job runs on its own thread and reports through one channel of
//! plain data; every message wakes the UI.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use roap_engine::train::TrainEvent;

use crate::document::{CompletionResult, LoadedShape, ProgramGeometry};

/// What a job tells the UI.
pub enum Message {
    Loaded {
        path: PathBuf,
        result: Result<Box<LoadedShape>, String>,
    },
    /// The backend a synthesis or completion runs on, in words.
    Device(String),
    Train(TrainEvent),
    /// A synthesis ended (finished, stopped, or failed).
    SynthesisEnded(Result<Box<SynthesisResult>, String>),
    /// Meshes and thumbnails of a program, for the scene revision that asked for them.
    Geometry(Box<ProgramGeometry>),
    Completed(Result<Box<CompletionResult>, String>),
    /// A file dialog closed: the path chosen, if any.
    Picked {
        purpose: Pick,
        path: Option<PathBuf>,
    },
    /// An export finished: what was written, or why not.
    Exported(Result<String, String>),
    Screenshot(Arc<egui::ColorImage>),
    /// A job panicked (a bug): its error, and which job so its busy flag clears.
    Failed {
        job: Job,
        error: String,
    },
}

/// Kinds of job whose failure the UI must know about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    Load,
    Geometry,
    Complete,
    Other,
}

/// What a synthesis found; a run on a cropped input is also scored against the whole shape.
pub struct SynthesisResult {
    pub outcome: roap_engine::graphics::SynthOutcome,
    /// Chamfer ×1000 of the program against the uncropped shape.
    pub chamfer_vs_full: Option<f64>,
}

/// Why a file dialog was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    Open,
    Checkpoint,
    Export(crate::export::ExportKind),
}

/// The sending end handed to jobs: sends, then asks egui for a repaint.
#[derive(Clone)]
pub struct Outbox {
    sender: Sender<Message>,
    ctx: Arc<Mutex<Option<egui::Context>>>,
}

impl Outbox {
    pub fn send(&self, message: Message) {
        // The receiver is gone only when the app is closing: nothing left to tell.
        let _ = self.sender.send(message);
        if let Ok(ctx) = self.ctx.lock()
            && let Some(ctx) = ctx.as_ref()
        {
            ctx.request_repaint();
        }
    }
}

/// The UI side of the channel.
pub struct Jobs {
    outbox: Outbox,
    inbox: Receiver<Message>,
}

impl Default for Jobs {
    fn default() -> Self {
        let (sender, inbox) = channel();
        Self {
            outbox: Outbox {
                sender,
                ctx: Arc::new(Mutex::new(None)),
            },
            inbox,
        }
    }
}

impl Jobs {
    /// Lets jobs wake this context (set once the UI exists).
    pub fn set_context(&self, ctx: &egui::Context) {
        if let Ok(mut slot) = self.outbox.ctx.lock()
            && slot.is_none()
        {
            *slot = Some(ctx.clone());
        }
    }

    pub fn outbox(&self) -> Outbox {
        self.outbox.clone()
    }

    /// Runs `work` on a new thread; a panic inside it becomes `on_panic`'s message rather
    /// than a silently dead job.
    pub fn spawn(
        &self,
        name: &str,
        work: impl FnOnce(&Outbox) + Send + 'static,
        on_panic: impl FnOnce(String) -> Message + Send + 'static,
    ) {
        let outbox = self.outbox();
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&outbox)));
                if let Err(panic) = result {
                    let text = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    tracing::error!("background job panicked: {text}");
                    outbox.send(on_panic(format!("internal error: {text}")));
                }
            });
        if let Err(err) = spawned {
            self.outbox.send(Message::Failed {
                job: Job::Other,
                error: format!("cannot start a thread: {err}"),
            });
        }
    }

    /// Messages waiting, without blocking.
    pub fn try_recv(&self) -> Option<Message> {
        self.inbox.try_recv().ok()
    }

    /// Queues a message as if a job had sent it (scripts and tests feed fixtures this way).
    pub fn post(&self, message: Message) {
        self.outbox.send(message);
    }
}
