//! Choosing the burn device once, at the edge (CLI flag, app start-up). Library code takes a
//! `&Device` and never picks one itself.

pub use burn::tensor::Device;

/// What the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// wgpu on a hardware adapter, otherwise the CPU backend.
    #[default]
    Auto,
    /// burn's flex CPU backend.
    Cpu,
    /// burn's wgpu backend, on whatever adapter wgpu offers (software ones included).
    Wgpu,
}

/// Which backend a [`ChosenDevice`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    Cpu,
    Wgpu,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
        }
    }
}

/// A device plus a sentence saying why it was chosen (for status bars and logs).
#[derive(Clone, Debug)]
pub struct ChosenDevice {
    pub device: Device,
    pub kind: BackendKind,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("wgpu was requested but no adapter could be initialised: {0}")]
    NoAdapter(String),
}

/// Adapters that rasterise in software: wgpu on them is far slower than the CPU backend.
fn is_software(info: &burn::tensor::wgpu::wgpu::AdapterInfo) -> bool {
    let name = info.name.to_lowercase();
    info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu
        || ["llvmpipe", "lavapipe", "swiftshader", "softpipe"]
            .iter()
            .any(|soft| name.contains(soft))
}

/// Picks the device for `choice` (without autodiff; call `.autodiff()` where gradients flow).
///
/// # Errors
/// Only for [`DeviceChoice::Wgpu`] when wgpu cannot initialise any adapter; `Auto` falls
/// back to the CPU backend instead.
pub fn choose(choice: DeviceChoice) -> Result<ChosenDevice, DeviceError> {
    let cpu = |why: String| ChosenDevice {
        device: Device::flex(),
        kind: BackendKind::Cpu,
        description: why,
    };
    match choice {
        DeviceChoice::Cpu => Ok(cpu("CPU backend (flex), as requested".into())),
        DeviceChoice::Wgpu | DeviceChoice::Auto => match Device::wgpu_options().init_with_setup() {
            Ok((device, setup)) => {
                let info = setup.adapter.get_info();
                let label = format!("{} ({:?}, {:?})", info.name, info.device_type, info.backend);
                if choice == DeviceChoice::Auto && is_software(&info) {
                    Ok(cpu(format!(
                        "CPU backend (flex): the only wgpu adapter, {label}, is a software rasterizer"
                    )))
                } else {
                    Ok(ChosenDevice {
                        device,
                        kind: BackendKind::Wgpu,
                        description: format!("wgpu on {label}"),
                    })
                }
            }
            Err(err) if choice == DeviceChoice::Wgpu => {
                Err(DeviceError::NoAdapter(err.to_string()))
            }
            Err(err) => Ok(cpu(format!("CPU backend (flex): no wgpu adapter ({err})"))),
        },
    }
}
