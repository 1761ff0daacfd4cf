//! A trained model saved with what it was trained on: `DIR/model.bpk` (burn record),
//! `DIR/config.json`, `DIR/tasks.json` (equations and examples, image indices).

use std::path::Path;

use burn::tensor::Device;

use super::config::ArithConfig;
use super::model::ArithModel;
use super::tasks::Task;
use super::train::new_model;
use crate::train::checkpoint::{
    CheckpointError, create_dir, load_module, parse_json, read_file, save_module, write_json,
};

/// Tasks a checkpoint may hold (the paper trains on 50).
const MAX_TASKS: usize = 100_000;

/// Writes `config.json`, `tasks.json` and `model.bpk`, each atomically.
///
/// # Errors
/// If the folder or a file cannot be written.
pub fn save(
    dir: &Path,
    model: ArithModel,
    config: &ArithConfig,
    tasks: &[Task],
) -> Result<(), CheckpointError> {
    create_dir(dir)?;
    write_json(&dir.join("config.json"), config)?;
    write_json(&dir.join("tasks.json"), &tasks)?;
    save_module(model, &dir.join("model.bpk"))
}

/// # Errors
/// Missing or malformed files, settings out of bounds, or a record that does not fit
/// the configuration.
pub fn load(
    dir: &Path,
    device: &Device,
) -> Result<(ArithModel, ArithConfig, Vec<Task>), CheckpointError> {
    let config_path = dir.join("config.json");
    let config: ArithConfig = parse_json(&config_path, &read_file(&config_path)?)?;
    config
        .model
        .check()
        .map_err(|message| CheckpointError::Invalid {
            path: config_path,
            message,
        })?;
    let tasks_path = dir.join("tasks.json");
    let tasks: Vec<Task> = parse_json(&tasks_path, &read_file(&tasks_path)?)?;
    if tasks.is_empty() || tasks.len() > MAX_TASKS {
        return Err(CheckpointError::Invalid {
            path: tasks_path,
            message: format!("{} tasks, outside 1..={MAX_TASKS}", tasks.len()),
        });
    }
    let path = dir.join("model.bpk");
    let model = load_module(
        new_model(&config, tasks.len(), device),
        &path,
        read_file(&path)?,
    )?;
    Ok((model, config, tasks))
}
