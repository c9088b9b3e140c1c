//! The Redis bus driver (being written).

/// Placeholder until the driver lands.
#[derive(Debug)]
pub struct RedisBus;
