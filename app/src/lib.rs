//! roap studio's library: the parts of the app that examples and tests reuse.

pub mod viewport;
