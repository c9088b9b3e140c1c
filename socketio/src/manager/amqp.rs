//! The AMQP bus driver (being written).

/// Placeholder until the driver lands.
#[derive(Debug)]
pub struct AmqpBus;
